"""Small pictures made in memory, for tests that must not depend on ../shared."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def make_image(
    width: int = 64, height: int = 48, *, fmt: str = "JPEG", mode: str = "RGB", seed: int = 0
) -> bytes:
    """Encoded bytes of a random-but-smooth picture (so JPEG/PNG behave as on photos)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(max(2, height // 8), max(2, width // 8), 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((width, height), Image.BILINEAR)
    if mode != "RGB":
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()
