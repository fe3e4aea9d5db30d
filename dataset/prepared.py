"""The prepared splits on disk: one module that the preprocess stage writes with and
every reader (training, evaluation, publishing) reads with.

data/prepared/ holds, per split, <split>.x.npy (pixels, (N, S, S, 3) uint8 RGB) and
<split>.npz (y, source, id), plus meta.json (image_size, balance, class_weight, counts).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dataset.errors import DatasetError

SPLITS = ("train", "val", "test")
X_FILE = ".x.npy"  # train.x.npy: the pixels, beside train.npz (labels, sources, ids)
META_FILE = "meta.json"
PREPARED = Path("data/prepared")
LABELS = {0: "ai", 1: "real"}  # y: 1 = real photograph


@dataclass(frozen=True)
class Split:
    """One split: x (N, S, S, 3) uint8 RGB, y (N,) uint8 with 1 = real, source and id strings."""

    name: str
    x: np.ndarray
    y: np.ndarray
    source: np.ndarray
    id: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, mask: np.ndarray) -> Split:
        return Split(self.name, self.x[mask], self.y[mask], self.source[mask], self.id[mask])


def load_split(name: str, folder: Path | str = PREPARED) -> Split:
    """Read and check <name>.x.npy (pixels) and <name>.npz (labels); any problem is one line."""
    path, x_path = Path(folder) / f"{name}.npz", Path(folder) / f"{name}{X_FILE}"
    for required in (path, x_path):
        if not required.is_file():
            raise DatasetError(f"{required} not found; run the preprocess stage first (dvc repro)")
    try:
        x = np.load(x_path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DatasetError(f"{x_path} is not a readable .npy file ({e})") from None
    try:
        with np.load(path, allow_pickle=False) as arrays:
            if "y" not in arrays.files:
                raise DatasetError(f"{path} lacks array y")
            y = arrays["y"]
            n = len(y)
            source = arrays["source"] if "source" in arrays.files else np.full(n, "unknown")
            ids = arrays["id"] if "id" in arrays.files else np.arange(n).astype(str)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise DatasetError(f"{path} is not a readable .npz file ({e})") from None
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] != 3 or x.shape[1] != x.shape[2]:
        raise DatasetError(f"{x_path}: x must be (N, S, S, 3) uint8, got {x.shape} {x.dtype}")
    if not len(x) == n == len(source) == len(ids):
        raise DatasetError(f"{path}: x, y, source and id have different lengths")
    if n == 0:
        raise DatasetError(f"{path} is empty")
    if not np.isin(y, (0, 1)).all():
        raise DatasetError(f"{path}: y must be 0 (ai) or 1 (real), found {np.unique(y)[:5]}")
    return Split(name, x, y.astype(np.uint8), source.astype(str), ids.astype(str))


def save_split(split: Split, folder: Path | str = PREPARED) -> None:
    """Write a split as the preprocess stage does (for tests and for users' own data)."""
    folder = Path(folder)
    np.save(folder / f"{split.name}{X_FILE}", split.x, allow_pickle=False)
    np.savez(folder / f"{split.name}.npz", y=split.y, source=split.source, id=split.id)


def load_meta(folder: Path | str = PREPARED) -> dict:
    """data/prepared/meta.json (image_size, balance, class_weight, counts); {} when absent."""
    path = Path(folder) / META_FILE
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DatasetError(f"{path} is not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise DatasetError(f"{path} must hold a JSON object")
    return meta


def counts(folder: Path | str = PREPARED, splits=SPLITS) -> dict:
    """{split: {source: {"ai": n, "real": n}}} counted from the arrays (pixels not read)."""
    table = {}
    for name in splits:
        path = Path(folder) / f"{name}.npz"
        if not path.is_file():
            continue
        with np.load(path, allow_pickle=False) as arrays:
            y = arrays["y"]
            source = arrays["source"] if "source" in arrays.files else np.full(len(y), "unknown")
        per_source = table.setdefault(name, {})
        for kind in sorted(set(source.astype(str))):
            labels = y[source == kind]
            per_source[kind] = {LABELS[k]: int((labels == k).sum()) for k in (0, 1)}
    return table
