"""What the models look at: the whole picture at S x S, or S x S patches of the picture
rescaled to a set longer side. Training, evaluation, the prediction command and the
app all make their views here, from `imaging`'s one decoder and resize rule.

Why patches: shrinking a web picture to 36 x 36 throws away the fine traces a
generator leaves; rescaling it to a fixed longer side first keeps them at one scale
(a picture's stored resolution varies, and crops at that resolution did worse).
"""

from __future__ import annotations

import cv2
import numpy as np

from dataset.imaging import decode_image, interpolation_for, resize_image

WHOLE = "whole"
PATCH = "patch"


def rescale_longer(rgb: np.ndarray, longer_side: int, min_side: int) -> np.ndarray:
    """The picture with its longer side at `longer_side` and its shorter side at least
    `min_side` (a very wide picture is enlarged until a patch fits), aspect kept."""
    height, width = rgb.shape[:2]
    scale = max(longer_side / max(height, width), min_side / min(height, width))
    size = (max(min_side, round(width * scale)), max(min_side, round(height * scale)))
    if size == (width, height):
        return np.ascontiguousarray(rgb)
    return cv2.resize(rgb, size, interpolation=interpolation_for(shrinking=scale < 1))


def grid_origins(height: int, width: int, size: int, grid: int) -> list[tuple[int, int]]:
    """Top-left corners of a grid x grid set of size x size crops spread evenly over
    the picture (they overlap when the picture is small, and cover it edge to edge);
    a grid of one is the centre crop."""
    if grid == 1:
        return [((height - size) // 2, (width - size) // 2)]
    rows = np.linspace(0, height - size, grid).round().astype(int)
    cols = np.linspace(0, width - size, grid).round().astype(int)
    return [(int(r), int(c)) for r in rows for c in cols]


def grid_patches(rgb: np.ndarray, size: int, grid: int) -> np.ndarray:
    """(grid * grid, size, size, 3): the patches a picture is scored by, row by row."""
    origins = grid_origins(rgb.shape[0], rgb.shape[1], size, grid)
    return np.stack([rgb[r : r + size, c : c + size] for r, c in origins])


def load_scaled(data: bytes, longer_side: int, min_side: int, **limits) -> np.ndarray:
    """Decode bytes and rescale for the patch view (JPEG decodes at a reduced scale
    that still keeps both sides at least `longer_side`)."""
    rgb = decode_image(data, shrink_to=longer_side, **limits)
    return rescale_longer(rgb, longer_side, min_side)


def load_whole(data: bytes, size: int, **limits) -> np.ndarray:
    """Decode bytes to the whole-picture view, (size, size, 3)."""
    return resize_image(decode_image(data, shrink_to=size, **limits), size)
