"""The prepared-split reader, and the tiny project the stage tests run in.

`make_project` lays out what the preprocess stage would leave (data/prepared/*.x.npy,
*.npz and meta.json) plus params.yaml, in a temporary folder the test chdirs into.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from model.data import Split, class_weight, counts, load_split, save_split
from model.errors import ModelError
from tests.conftest import ROOT

SIZES = {"train": 64, "val": 32, "test": 48}
TINY_TRAIN = {
    "filters": [4, 8, 8, 8],
    "dense": [8],
    "epochs": 1,
    "batch_size": 16,
    "weights": "none",
}


def make_arrays(n: int, size: int = 36, seed: int = 0) -> dict:
    """Half real (smooth colour fields), half ai (the same plus texture); two sources."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    base = rng.integers(0, 256, (n, 1, 1, 3)).astype(np.float64)
    x = base + rng.normal(0, 4 + 30 * (1 - y)[:, None, None, None], (n, size, size, 3))
    return {
        "x": np.clip(x, 0, 255).astype(np.uint8),
        "y": y.astype(np.uint8),
        "source": np.where(np.arange(n) % 3 == 0, "scraped", "cifake"),
        "id": np.array([f"img{i}" for i in range(n)]),
    }


def write_arrays(folder: Path, name: str, arrays: dict) -> None:
    save_split(Split(name, **arrays), folder)


def make_project(root: Path, monkeypatch, **train) -> Path:
    """A project folder with tiny splits and params.yaml (train section overridden)."""
    prepared = root / "data" / "prepared"
    prepared.mkdir(parents=True)
    for seed, (split, n) in enumerate(SIZES.items()):
        write_arrays(prepared, split, make_arrays(n, seed=seed))
    meta = {"image_size": 36, "balance": "class_weights", "class_weight": {"0": 1.0, "1": 1.0}}
    (prepared / "meta.json").write_text(json.dumps(meta))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["train"].update({**TINY_TRAIN, **train})
    params["publish"]["examples"] = 4
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(root)
    monkeypatch.delenv("PARAMS_OVERLAY", raising=False)
    return root


def set_params(section: str, **values) -> None:
    params = yaml.safe_load(Path("params.yaml").read_text())
    params[section].update(values)
    Path("params.yaml").write_text(yaml.safe_dump(params))


def test_load_split_reads_arrays(tmp_path):
    write_arrays(tmp_path, "val", make_arrays(10))
    split = load_split("val", tmp_path)
    assert split.x.shape == (10, 36, 36, 3) and split.x.dtype == np.uint8
    assert set(split.source) == {"cifake", "scraped"} and len(split) == 10


@pytest.mark.parametrize(
    "change, message",
    [
        ({"x": np.zeros((4, 36, 36, 3), np.float32)}, "uint8"),
        ({"y": np.full(4, 2, np.uint8)}, r"0 \(ai\) or 1 \(real\)"),
        ({"id": np.array(["a"])}, "different lengths"),
    ],
)
def test_load_split_refuses_bad_arrays(tmp_path, change, message):
    arrays = {**make_arrays(4), **change}
    write_arrays(tmp_path, "train", arrays)
    with pytest.raises(ModelError, match=message):
        load_split("train", tmp_path)


def test_missing_split_names_the_stage(tmp_path):
    with pytest.raises(ModelError, match="preprocess stage"):
        load_split("test", tmp_path)
    write_arrays(tmp_path, "test", make_arrays(4))
    (tmp_path / "test.x.npy").unlink()  # labels without pixels
    with pytest.raises(ModelError, match=r"test\.x\.npy not found; run the preprocess stage"):
        load_split("test", tmp_path)


def test_counts_and_class_weight(tmp_path):
    write_arrays(tmp_path, "test", make_arrays(6))
    table = counts(tmp_path)
    assert table == {"test": {"cifake": {"ai": 2, "real": 2}, "scraped": {"ai": 1, "real": 1}}}
    assert class_weight({"balance": "class_weights", "class_weight": {"0": 2, "1": 0.5}}) == {
        0: 2.0,
        1: 0.5,
    }
    assert class_weight({"balance": "oversample", "class_weight": None}) is None
