"""Heat-map colours and pictures, without Streamlit: Grad-CAM over the whole view, the
per-patch map of the patch view, and the colour legend drawn beside them."""

from __future__ import annotations

import numpy as np

from dataset.views import grid_origins

HEAT_ALPHA = 0.6
# A perceptual dark-to-bright ramp (black, purple, red, orange, pale yellow; like
# "inferno"), readable on light and dark themes alike.
RAMP = np.array(
    [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], np.float32
)


def colormap(heat: np.ndarray) -> np.ndarray:
    """(H, W) values in 0..1 -> (H, W, 3) uint8 RGB."""
    x = np.clip(heat, 0, 1) * (len(RAMP) - 1)
    low = np.floor(x).astype(int).clip(0, len(RAMP) - 2)
    t = (x - low)[..., None]
    return np.rint(RAMP[low] * (1 - t) + RAMP[low + 1] * t).astype(np.uint8)


def overlay(picture: np.ndarray, heat: np.ndarray, alpha: float = HEAT_ALPHA) -> np.ndarray:
    """The heat map stretched over the whole picture; cold parts keep the picture visible."""
    import cv2

    height, width = picture.shape[:2]
    big = cv2.resize(heat.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    weight = alpha * np.clip(big, 0, 1)[..., None] ** 0.5
    mixed = picture.astype(np.float32) * (1 - weight) + colormap(big) * weight
    return np.rint(mixed).astype(np.uint8)


def patch_map(
    shape: tuple[int, int], patch_p_real: np.ndarray, *, size: int, longer_side: int
) -> np.ndarray:
    """(H, W) map in 0..1 of how AI-generated each place looked (1 - p_real of the
    patches covering it, averaged where they overlap), at the picture's shape."""
    import cv2

    height, width = shape
    grid = patch_p_real.shape[0]
    # The patches' own frame: the picture rescaled as dataset.views.rescale_longer does.
    scale = max(longer_side / max(height, width), size / min(height, width))
    h, w = max(size, round(height * scale)), max(size, round(width * scale))
    total = np.zeros((h, w), np.float32)
    count = np.zeros((h, w), np.float32)
    for (r, c), p in zip(grid_origins(h, w, size, grid), patch_p_real.ravel(), strict=True):
        total[r : r + size, c : c + size] += 1.0 - p
        count[r : r + size, c : c + size] += 1
    heat = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    return cv2.resize(heat, (width, height), interpolation=cv2.INTER_LINEAR)


def painted(picture: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """The map in full colour at the picture's size, the picture faintly underneath (for
    the side-by-side view)."""
    import cv2

    height, width = picture.shape[:2]
    if heat.shape != (height, width):
        heat = cv2.resize(heat.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    return np.rint(picture * 0.25 + colormap(np.clip(heat, 0, 1)) * 0.75).astype(np.uint8)


def legend(width: int = 320, height: int = 18) -> np.ndarray:
    """A horizontal colour bar from 0 (left) to 1 (right)."""
    ramp = np.linspace(0, 1, width, dtype=np.float32)
    return colormap(np.tile(ramp, (height, 1)))


def patch_rows(patch_p_real: np.ndarray) -> list[dict]:
    """Per-patch p_real as table rows, row by row as the patches lie on the picture."""
    return [
        {"row": f"row {i + 1}", **{f"col {j + 1}": round(float(p), 3) for j, p in enumerate(r)}}
        for i, r in enumerate(patch_p_real)
    ]
