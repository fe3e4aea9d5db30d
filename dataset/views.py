"""What the models look at, made from `imaging`'s one decoder and resize rule, for
training, evaluation, the prediction command and the app alike:

- whole: the picture resized to S x S (S = 36), the CIFAKE view's input;
- web: up to `crops` squares of the picture's shorter side, evenly spaced along its
  longer side (one for a square picture, two for a 3:2 one), each resized to S x S
  (S = 240), the pretrained backbone's input; its head reads the mean of their
  features (`square_crops`).

Both come from `imaging`'s one decoder and resize rule (area when shrinking, bicubic
when enlarging). The whole view squashes the picture to its square; the web view
does not, because the early backbone features it reads are texture, and squashing a
3:2 photograph stretches its texture one way and not the other (measured: README
"Web pictures", leave-one-group-out 0.738 squashed, 0.750 in square crops).

A small copy (`shrink`) is a picture scaled down to a longer side first, aspect
kept: how the web pictures are measured at CIFAKE's size.
"""

from __future__ import annotations

import cv2
import numpy as np

from dataset.imaging import interpolation_for, resize_image

WHOLE = "whole"
WEB = "web"


def shrink(rgb: np.ndarray, longer_side: int) -> np.ndarray:
    """The picture with its longer side at most `longer_side`, aspect kept (area filter)."""
    height, width = rgb.shape[:2]
    scale = longer_side / max(height, width)
    if scale >= 1:
        return np.ascontiguousarray(rgb)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=interpolation_for(shrinking=True))


def crop_count(height: int, width: int, max_crops: int) -> int:
    """How many squares square_crops cuts: enough to cover the longer side, at most max_crops."""
    shorter, longer = sorted((height, width))
    return max(1, min(max_crops, -(-longer // shorter)))


def square_crops(rgb: np.ndarray, size: int, max_crops: int) -> np.ndarray:
    """(k, size, size, 3): squares of the shorter side, the first at one end of the
    longer side and the last at the other (k = crop_count; one: the centre square),
    each resized to size.

    Cut from the decoded picture before resizing, so a long thin picture costs k
    squares, not its whole enlarged length.
    """
    height, width = rgb.shape[:2]
    side = min(height, width)
    count = crop_count(height, width, max_crops)
    spare = max(height, width) - side
    # one square is the centre one; more run from one end to the other
    starts = np.linspace(0, spare, count).round().astype(int) if count > 1 else [spare // 2]
    tall = height > width
    return np.stack(
        [resize_image(rgb[a : a + side] if tall else rgb[:, a : a + side], size) for a in starts]
    )
