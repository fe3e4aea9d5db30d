"""What the models look at, made from `imaging`'s one decoder and resize rule, for
training, evaluation, the prediction command and the app alike:

- whole: the picture resized to S x S (S = 36), the CIFAKE view's input;
- web: the picture resized to S x S (S = 224), the pretrained backbone's input.

Both are `imaging.load_image(data, S)`: one decoder, one resize rule.

A small copy (`shrink`) is a picture scaled down to a longer side first, aspect
kept: how the web pictures are measured at CIFAKE's size.
"""

from __future__ import annotations

import cv2
import numpy as np

from dataset.imaging import interpolation_for

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
