"""Heat-map colours and pictures, without Streamlit: Grad-CAM over the whole view and
the colour legend drawn beside it."""

from __future__ import annotations

import numpy as np

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


def painted(picture: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """The map in full colour at the picture's size, the picture faintly underneath (for
    the side-by-side view)."""
    import cv2

    height, width = picture.shape[:2]
    if heat.shape != (height, width):
        heat = cv2.resize(heat.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    return np.rint(picture * 0.25 + colormap(np.clip(heat, 0, 1)) * 0.75).astype(np.uint8)


# Grad-CAM is scaled to its own peak, so an even map is all dark (no evidence) or all
# bright (evidence everywhere): either way no region stands out. Below this spread
# (standard deviation of the 0..1 map) the app says so instead of pointing at colours.
MIN_SPREAD = 0.1


def stands_out(heat: np.ndarray) -> bool:
    """Whether some region of a 0..1 map is brighter than the rest."""
    heat = np.asarray(heat, np.float32)
    return heat.size > 0 and float(heat.max()) > 0 and float(heat.std()) >= MIN_SPREAD


def legend(width: int = 320, height: int = 18) -> np.ndarray:
    """A horizontal colour bar from 0 (left) to 1 (right)."""
    ramp = np.linspace(0, 1, width, dtype=np.float32)
    return colormap(np.tile(ramp, (height, 1)))
