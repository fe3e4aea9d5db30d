"""The prepared splits, checked, and their tf.data pipelines.

data/prepared/ holds, per split, <split>.x.npy (pixels, (N, S, S, 3) uint8 RGB) and
<split>.npz (y, source, id), plus meta.json; dataset/preprocess.py writes them.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from dataset.preprocess import X_FILE  # the layout is defined once, by the stage writing it
from model.augment import augment_batch
from model.ela import add_ela
from model.errors import ModelError

PREPARED = Path("data/prepared")
LABELS = {0: "ai", 1: "real"}


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
            raise ModelError(f"{required} not found; run the preprocess stage first (dvc repro)")
    try:
        x = np.load(x_path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ModelError(f"{x_path} is not a readable .npy file ({e})") from None
    try:
        with np.load(path, allow_pickle=False) as arrays:
            if "y" not in arrays.files:
                raise ModelError(f"{path} lacks array y")
            y = arrays["y"]
            n = len(y)
            source = arrays["source"] if "source" in arrays.files else np.full(n, "unknown")
            ids = arrays["id"] if "id" in arrays.files else np.arange(n).astype(str)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ModelError(f"{path} is not a readable .npz file ({e})") from None
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] != 3 or x.shape[1] != x.shape[2]:
        raise ModelError(f"{x_path}: x must be (N, S, S, 3) uint8, got {x.shape} {x.dtype}")
    if not len(x) == n == len(source) == len(ids):
        raise ModelError(f"{path}: x, y, source and id have different lengths")
    if n == 0:
        raise ModelError(f"{path} is empty")
    if not np.isin(y, (0, 1)).all():
        raise ModelError(f"{path}: y must be 0 (ai) or 1 (real), found {np.unique(y)[:5]}")
    return Split(name, x, y.astype(np.uint8), source.astype(str), ids.astype(str))


def save_split(split: Split, folder: Path | str = PREPARED) -> None:
    """Write a split as the preprocess stage does (for tests and for users' own data)."""
    folder = Path(folder)
    np.save(folder / f"{split.name}{X_FILE}", split.x, allow_pickle=False)
    np.savez(folder / f"{split.name}.npz", y=split.y, source=split.source, id=split.id)


def load_meta(folder: Path | str = PREPARED) -> dict:
    """data/prepared/meta.json (image_size, balance, class_weight, counts); {} when absent."""
    path = Path(folder) / "meta.json"
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ModelError(f"{path} is not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise ModelError(f"{path} must hold a JSON object")
    return meta


def class_weight(meta: dict) -> dict[int, float] | None:
    """Keras class weights when the preprocess stage balanced by weighting, else None."""
    weights = meta.get("class_weight")
    if meta.get("balance") != "class_weights" or not weights:
        return None
    try:
        return {int(k): float(v) for k, v in weights.items()}
    except (AttributeError, TypeError, ValueError):
        raise ModelError(f"meta.json class_weight must map 0/1 to numbers, got {weights}") from None


def counts(folder: Path | str = PREPARED, splits=("train", "val", "test")) -> dict:
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


def with_ela(x: np.ndarray, ela: bool) -> np.ndarray:
    """The model's input for uint8 RGB pixels: unchanged, or with ELA channels added."""
    return add_ela(x) if ela else x


def training_dataset(
    split: Split, batch_size: int, *, augment: bool, ela: bool, seed: int
) -> tf.data.Dataset:
    """Shuffled, augmented, batched batches of (pixels, label), prefetched.

    The arrays are already in memory, so from_tensor_slices plays the role of cache().
    Augmentation runs per batch (vectorised) after batching: on 2 cores a per-image
    map would cost more than the augmentation itself.
    """
    data = tf.data.Dataset.from_tensor_slices((split.x, split.y.astype("float32")))
    data = data.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size, drop_remainder=len(split) > batch_size)
    if augment:
        # A seeded stream of per-batch seeds for the stateless augmentation ops.
        seeds = tf.data.Dataset.random(seed=seed).batch(2)
        data = tf.data.Dataset.zip(data, seeds).map(
            lambda batch, s: (augment_batch(batch[0], s), batch[1]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    if ela:
        data = data.map(_ela_map, num_parallel_calls=tf.data.AUTOTUNE)
    return data.prefetch(tf.data.AUTOTUNE)


def eval_dataset(split: Split, batch_size: int, *, ela: bool) -> tf.data.Dataset:
    """The split in order, batched, for validation during training."""
    x = with_ela(split.x, ela)
    data = tf.data.Dataset.from_tensor_slices((x, split.y.astype("float32")))
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _ela_map(x, y):
    # One ELA implementation everywhere (model.ela, PIL's JPEG), on the augmented pixels.
    shape = tf.concat([tf.shape(x)[:-1], [6]], axis=0)
    out = tf.numpy_function(add_ela, [x], tf.uint8, stateful=False)
    return tf.reshape(out, shape), y
