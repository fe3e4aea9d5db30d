"""Error Level Analysis: how much each pixel changes when the picture is re-saved as JPEG.

Regions pasted or synthesised at another compression history re-compress
differently, so the difference image is a cheap extra cue. It is computed on the
model's own S x S pixels (after `dataset.imaging.load_image`), identically in
training, evaluation and serving, so the model never sees ELA of other pixels.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from model.errors import ModelError

QUALITY = 90


def ela(rgb: np.ndarray, quality: int = QUALITY) -> np.ndarray:
    """|pixels - JPEG(pixels, quality)| for one (S, S, 3) uint8 picture, uint8."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    resaved = np.asarray(Image.open(buffer).convert("RGB"), dtype=np.int16)
    return np.abs(rgb.astype(np.int16) - resaved).astype(np.uint8)


def add_ela(batch: np.ndarray) -> np.ndarray:
    """(N, S, S, 3) uint8 RGB -> (N, S, S, 6) uint8: RGB then its ELA channels."""
    batch = np.asarray(batch)
    if batch.ndim != 4 or batch.shape[-1] != 3 or batch.dtype != np.uint8:
        raise ModelError(
            f"add_ela expects a (N, S, S, 3) uint8 batch, got {batch.shape} {batch.dtype}"
        )
    levels = np.stack([ela(image) for image in batch]) if len(batch) else batch
    return np.concatenate([batch, levels], axis=-1)
