"""Whole decoded frames to RGB uint8, a tile at a time (dataset.imaging's conversions).

The decoder's frame (Pillow's, or OpenCV's for a still WebP) is the one whole-frame
buffer: every conversion (palette, grey, 16-bit, alpha or colour key on white) reads a
tile of it and writes into the preallocated uint8 output, so a tiny file claiming a
large frame costs that frame plus its RGB output, never float copies.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

WHITE = 255

TILE = 1024  # a tile's side: its temporaries stay a few tens of MB at any frame width
_HIGH_DEPTH = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
_ALPHA = ("RGBA", "LA", "PA", "RGBa", "La")
# Grey PNGs of 2 and 4 bits are read as L, scaled to 0-255; their colour key is not.
_KEY_SCALE = {"L;2": 85, "L;4": 17}


def frame_to_rgb(width: int, height: int, tile_to_rgb, reduce_by: int) -> np.ndarray:
    """The (height, width, 3) RGB output, or its box reduction by `reduce_by`, filled
    tile by tile: tile_to_rgb(left, top, right, bottom) gives a tile's RGB pixels."""
    step = max(1, TILE // reduce_by) * reduce_by  # whole boxes in every tile but the last
    out = np.empty((-(-height // reduce_by), -(-width // reduce_by), 3), np.uint8)
    for top in range(0, height, step):
        bottom = min(top + step, height)
        for left in range(0, width, step):
            rgb = tile_to_rgb(left, top, min(left + step, width), bottom)
            if reduce_by > 1:
                rgb = _box_reduce(rgb, reduce_by)
            row, col = top // reduce_by, left // reduce_by
            out[row : row + rgb.shape[0], col : col + rgb.shape[1]] = rgb
    return out


def _box_reduce(rgb: np.ndarray, k: int) -> np.ndarray:
    """Mean of each k x k box (a partial box at the right or bottom edge: its own mean)."""
    height, width = rgb.shape[:2]
    rows, cols = np.arange(0, height, k), np.arange(0, width, k)
    sums = np.add.reduceat(np.add.reduceat(rgb, rows, axis=0, dtype=np.uint32), cols, axis=1)
    counts = np.outer(np.diff(rows, append=height), np.diff(cols, append=width))[..., None]
    return ((sums + counts // 2) // counts).astype(np.uint8)


def to_rgb(image: Image.Image, reduce_by: int = 1, rawmode: str | None = None) -> np.ndarray:
    """A Pillow image of any mode as RGB uint8 (box-reduced by `reduce_by`)."""
    image.load()

    def tile_to_rgb(left: int, top: int, right: int, bottom: int) -> np.ndarray:
        whole = (left, top, right, bottom) == (0, 0, *image.size)
        return _tile_to_rgb(image if whole else image.crop((left, top, right, bottom)), rawmode)

    return frame_to_rgb(*image.size, tile_to_rgb, reduce_by)


def rawmode_of(image: Image.Image) -> str | None:
    """How the file stores the pixels (e.g. "L;2"), known only before load()."""
    tile = getattr(image, "tile", None) or [None]
    args = getattr(tile[0], "args", None)
    return args if isinstance(args, str) else None


def _tile_to_rgb(tile: Image.Image, rawmode: str | None) -> np.ndarray:
    mode, key = tile.mode, tile.info.get("transparency")
    if mode in _HIGH_DEPTH:
        values = np.asarray(tile)
        rgb = _grey_to_rgb(np.clip(values / 257.0, 0, 255).astype(np.uint8))
        return _key_to_white(rgb, values == key) if isinstance(key, int) else rgb
    if mode in _ALPHA or (mode == "P" and key is not None):
        return composite_on_white(np.asarray(tile.convert("RGBA")))
    if mode == "RGB" and isinstance(key, tuple) and max(key) <= WHITE:
        rgb = np.array(tile)
        return _key_to_white(rgb, (rgb == key).all(axis=2))
    if mode in ("L", "1") and isinstance(key, int):
        grey = np.asarray(tile.convert("L"))
        key = key * _KEY_SCALE.get(rawmode, 1)
        return _key_to_white(_grey_to_rgb(grey), grey == key)
    return np.asarray(tile if mode == "RGB" else tile.convert("RGB"))


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[..., None], 3, axis=2)


def _key_to_white(rgb: np.ndarray, transparent: np.ndarray) -> np.ndarray:
    """A colour key (PNG tRNS on a grey or RGB picture) is full transparency: white."""
    rgb[transparent] = WHITE
    return rgb


def composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """RGBA uint8 over white, rounded to nearest, in uint8 (OpenCV, vectorised):
    c*a/255 + 255*(1 - a/255) = 255 - (255 - c)*a/255, never halfway (255 is odd)."""
    alpha = np.ascontiguousarray(rgba[..., 3])
    inverse = cv2.bitwise_not(np.ascontiguousarray(rgba[..., :3]))
    covered = cv2.multiply(inverse, cv2.merge((alpha, alpha, alpha)), scale=1 / WHITE)
    return cv2.bitwise_not(covered)


def decode_still_webp(image: Image.Image, data: bytes, reduce_by: int) -> np.ndarray | None:
    """A still WebP through OpenCV (the same libwebp, the same pixels): it decodes into
    one buffer, where Pillow's animation decoder holds four frames. None: use Pillow."""
    if image.format != "WEBP" or getattr(image, "is_animated", False):
        return None
    flags = cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION
    frame = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if frame is None or frame.ndim != 3 or frame.shape[1::-1] != image.size:
        return None
    if frame.shape[2] == 3 and reduce_by == 1:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB, dst=frame)

    def tile_to_rgb(left: int, top: int, right: int, bottom: int) -> np.ndarray:
        tile = frame[top:bottom, left:right]
        if tile.shape[2] == 3:
            return tile[..., ::-1]
        return composite_on_white(tile[..., [2, 1, 0, 3]])

    return frame_to_rgb(*image.size, tile_to_rgb, reduce_by)
