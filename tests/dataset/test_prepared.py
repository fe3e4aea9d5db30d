"""The prepared-split reader, and the tiny project the stage tests run in.

`make_project` lays out what the preprocess stage would leave (data/prepared/*.x.npy,
*.npz and meta.json) plus params.yaml, in a temporary folder the test chdirs into.
"""

from __future__ import annotations

import numpy as np
import pytest

from dataset.errors import DatasetError
from dataset.prepared import counts, load_split
from model.data import class_weight
from tests.helpers import make_arrays, write_arrays


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
    with pytest.raises(DatasetError, match=message):
        load_split("train", tmp_path)


def test_missing_split_names_the_stage(tmp_path):
    with pytest.raises(DatasetError, match="preprocess stage"):
        load_split("test", tmp_path)
    write_arrays(tmp_path, "test", make_arrays(4))
    (tmp_path / "test.x.npy").unlink()  # labels without pixels
    with pytest.raises(DatasetError, match=r"test\.x\.npy not found; run the preprocess stage"):
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
