"""Where in a whole-view picture the model sees an edit: an occlusion map.

Each square window of the picture is hidden in turn (filled with the picture's mean
colour), all of them scored in one batched call, and a place's heat is how much hiding
the windows over it lowers the score, as a share of the whole picture's score. The
score is P(modified) for a three-class model; a two-class model has no modified class,
so its map is of 1 - p_real (where the picture looks least like a real photograph).

Occlusion rather than gradients: it needs only the model's answers, so every engine
(numpy included) draws it, and it measures the very change it shows. No Streamlit and
no TensorFlow here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from model.errors import ModelError

# The window's side as a share of the picture's: the smallest edited region of the
# modified set (modify.region_sides starts at 0.25), so one window can hide one edit.
WINDOW_SHARE = 0.25
STRIDE_SHARE = 1 / 12  # 36 px pictures: 9 px windows every 3 px, 100 of them
FOUND = 0.5  # from this score on, the model is said to find an edit
LOCALISED = 0.05  # ... and to place it, when hiding some part removes this share of it
MODIFIED_TARGET = "modified"  # the score mapped: P(modified)
NOT_REAL_TARGET = "not real"  # 1 - p_real (two-class model)


@dataclass(frozen=True)
class RegionMap:
    heat: np.ndarray  # (S, S) float32 in 0..1: the share of `score` hiding a place removes
    score: float  # the whole picture's score (P(modified), or 1 - p_real)
    target: str  # MODIFIED_TARGET or NOT_REAL_TARGET

    @property
    def found(self) -> bool:
        """The model finds an edit (three classes) or a non-real picture (two)."""
        return self.score >= FOUND

    @property
    def localised(self) -> bool:
        """Some part carries the score: hiding it removes a share of it worth showing."""
        return float(self.heat.max()) >= LOCALISED


def window_origins(size: int, window: int, stride: int) -> list[tuple[int, int]]:
    """Top-left corners of the windows: every `stride` pixels, the last flush with the edge."""
    starts = list(range(0, size - window + 1, stride))
    if starts[-1] != size - window:
        starts.append(size - window)
    return [(top, left) for top in starts for left in starts]


def occluded(picture: np.ndarray, window: int, stride: int):
    """(batch of the picture with one window hidden each, the windows' corners)."""
    origins = window_origins(picture.shape[0], window, stride)
    fill = np.rint(picture.reshape(-1, picture.shape[-1]).mean(axis=0)).astype(picture.dtype)
    batch = np.repeat(picture[None], len(origins), axis=0)
    for k, (top, left) in enumerate(origins):
        batch[k, top : top + window, left : left + window] = fill
    return batch, origins


def occlusion_map(
    score: Callable[[np.ndarray], np.ndarray], picture: np.ndarray, target: str,
    window: int | None = None, stride: int | None = None,
) -> RegionMap:  # fmt: skip
    """The RegionMap of one (S, S, C) uint8 picture; `score` maps (N, S, S, C) uint8 to
    (N,) scores in 0..1."""
    picture = np.asarray(picture)
    size = picture.shape[0]
    if picture.ndim != 3 or picture.shape[1] != size:
        raise ModelError(f"an occlusion map takes one square picture, got {picture.shape}")
    window = window or max(2, round(WINDOW_SHARE * size))
    stride = stride or max(1, round(STRIDE_SHARE * size))
    batch, origins = occluded(picture, window, stride)
    scores = np.asarray(score(np.concatenate([picture[None], batch])), np.float64)
    base, hidden = float(scores[0]), scores[1:]
    total = np.zeros((size, size), np.float64)
    count = np.zeros((size, size), np.float64)
    for (top, left), s in zip(origins, hidden, strict=True):
        total[top : top + window, left : left + window] += max(0.0, base - s)
        count[top : top + window, left : left + window] += 1
    drop = total / np.maximum(count, 1)
    heat = drop / base if base > 0 else np.zeros_like(drop)
    return RegionMap(np.clip(heat, 0.0, 1.0).astype(np.float32), base, target)
