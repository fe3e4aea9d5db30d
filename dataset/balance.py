"""Balancing the training split (preprocess.balance): class weights, oversampling or
SMOTE. Only the training split is touched, after validation was carved from it."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np

from dataset.prepared import LABELS

SMOTE_BASE = 4000  # minority pictures SMOTE draws neighbours from (its cost is quadratic)
WRITE_CHUNK = 8192


def balance_training(balance: str, columns: dict, x_train: Path, rng, seed: int) -> tuple:
    """(class weights or None, pictures added per label); resamples the training split only.

    oversample and smote append their rows to x_train and to columns["train"].
    """
    y, source, ids = columns["train"]
    if balance == "class_weights":
        return _class_weights(y), {}
    if balance == "oversample":
        extra = _oversample(y, rng)
        rewrite_pixels(x_train, np.concatenate([np.arange(len(y)), extra]))
        copies = np.array([f"{i}#copy{n}" for n, i in enumerate(ids[extra], 1)], dtype=str)
        columns["train"] = [
            np.concatenate([y, y[extra]]),
            np.concatenate([source, source[extra]]),
            np.concatenate([ids, copies]),
        ]
        return None, dict(Counter(LABELS[int(v)] for v in y[extra]))
    if balance == "smote":
        x_extra, y_extra = _smote(np.load(x_train, mmap_mode="r"), y, seed)
        rewrite_pixels(x_train, np.arange(len(y)), x_extra)
        synthetic = np.array([f"smote/{n}" for n in range(len(y_extra))], dtype=str)
        columns["train"] = [
            np.concatenate([y, y_extra]),
            np.concatenate([source, np.full(len(y_extra), "smote")]),
            np.concatenate([ids, synthetic]),
        ]
        return None, dict(Counter(LABELS[int(v)] for v in y_extra))
    return None, {}


def _class_weights(y: np.ndarray) -> dict[int, float]:
    n = len(y)
    return {k: round(n / (2 * max(int((y == k).sum()), 1)), 6) for k in (0, 1)}


def _oversample(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions (into y) to repeat so both classes count the same."""
    n = [int((y == k).sum()) for k in (0, 1)]
    minority = int(np.argmin(n))
    need = max(n) - min(n)
    if not need or not n[minority]:
        return np.empty(0, dtype=np.int64)
    return np.sort(rng.choice(np.flatnonzero(y == minority), size=need, replace=True))


def _smote(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """New minority pictures by imbalanced-learn's SMOTE on flattened pixels, as uint8.

    SMOTE finds neighbours among all minority samples (quadratic cost), so it draws
    them from a seeded sample of at most SMOTE_BASE minority pictures.
    """
    from imblearn.over_sampling import SMOTE

    n = [int((y == k).sum()) for k in (0, 1)]
    minority, majority = int(np.argmin(n)), int(np.argmax(n))
    need = max(n) - min(n)
    shape = x.shape[1:]
    if not need or n[minority] < 2:
        return np.empty((0, *shape), np.uint8), np.empty(0, np.uint8)
    rng = np.random.default_rng(seed)
    base = np.flatnonzero(y == minority)
    base = np.sort(rng.permutation(base)[:SMOTE_BASE])
    other = np.flatnonzero(y == majority)[:1]
    rows = np.concatenate([base, other])
    flat = x[rows].reshape(len(rows), -1).astype(np.float32)
    labels = y[rows]
    smote = SMOTE(
        sampling_strategy={minority: len(base) + need},
        k_neighbors=min(5, len(base) - 1),
        random_state=seed,
    )
    x_new, _ = smote.fit_resample(flat, labels)
    synthetic = x_new[len(rows) :]
    out = np.clip(np.rint(synthetic), 0, 255).astype(np.uint8).reshape(-1, *shape)
    return out, np.full(len(out), minority, dtype=np.uint8)


def rewrite_pixels(path: Path, rows: np.ndarray, extra: np.ndarray | None = None) -> None:
    """Replace the .npy at path by its rows `rows` (in that order), then `extra`, in chunks."""
    old = np.load(path, mmap_mode="r")
    n_extra = 0 if extra is None else len(extra)
    part = path.with_name(path.name + ".part")
    new = np.lib.format.open_memmap(part, "w+", np.uint8, (len(rows) + n_extra, *old.shape[1:]))
    for start in range(0, len(rows), WRITE_CHUNK):
        chunk = rows[start : start + WRITE_CHUNK]
        new[start : start + len(chunk)] = old[chunk]
    if n_extra:
        new[len(rows) :] = extra
    new.flush()
    del new, old
    os.replace(part, path)
