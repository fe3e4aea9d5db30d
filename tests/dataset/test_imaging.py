"""The one decoder: every format and mode ends as size x size RGB, bad bytes as ImageError."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from dataset.imaging import (
    ImageError,
    _decode_plain_jpeg,
    decode_image,
    load_image,
    resize_image,
    resize_images,
)
from tests.helpers import make_image


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_every_format_gives_rgb_at_the_model_size(fmt):
    pixels = load_image(make_image(80, 60, fmt=fmt), 36)
    assert pixels.shape == (36, 36, 3) and pixels.dtype == np.uint8


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "CMYK", "1", "I;16"])
def test_every_mode_becomes_rgb(mode):
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    assert decode_image(make_image(20, 10, fmt=fmt, mode=mode)).shape == (10, 20, 3)


def test_transparency_is_composited_on_white():
    buffer = io.BytesIO()
    Image.new("RGBA", (4, 4), (255, 0, 0, 0)).save(buffer, "PNG")
    assert (decode_image(buffer.getvalue()) == 255).all()


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    assert decode_image(buffer.getvalue()).shape == (40, 20, 3)


def test_rgb_channel_order_is_kept():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(buffer, "PNG")
    assert tuple(load_image(buffer.getvalue(), 4)[0, 0]) == (255, 0, 0)


def test_animation_gives_its_first_frame():
    frames = [Image.new("RGB", (8, 8), c) for c in ((0, 255, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    assert tuple(decode_image(buffer.getvalue())[0, 0]) == (0, 255, 0)


def test_resize_squashes_the_whole_picture():
    assert resize_image(np.zeros((100, 30, 3), np.uint8), 36).shape == (36, 36, 3)
    assert resize_image(np.zeros((32, 32, 3), np.uint8), 36).shape == (36, 36, 3)


@pytest.mark.parametrize("side", [32, 36, 80])  # enlarged, kept, shrunk
def test_resizing_a_stack_is_resizing_each_picture(side):
    rgbs = np.random.default_rng(side).integers(0, 256, (5, side, side, 3), dtype=np.uint8)
    out = np.zeros((5, 36, 36, 3), np.uint8)
    resize_images(rgbs, 36, out)
    assert all((out[k] == resize_image(rgbs[k], 36)).all() for k in range(5))


def pillow_pixels(data: bytes, shrink_to: int | None = None) -> np.ndarray:
    """What Pillow alone decodes (the reference for OpenCV's JPEG path)."""
    image = Image.open(io.BytesIO(data))
    if shrink_to:
        image.draft("RGB", (shrink_to, shrink_to))
    return np.asarray(image.convert("RGB"))


def save_jpeg(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


PHOTO = Image.open(io.BytesIO(make_image(333, 250, fmt="PNG", seed=3)))


@pytest.mark.parametrize(
    "options",
    [{}, {"subsampling": 0}, {"subsampling": 1}, {"progressive": True}, {"quality": 30}],
    ids=["4:2:0", "4:4:4", "4:2:2", "progressive", "q30"],
)
@pytest.mark.parametrize("shrink_to", [None, 36, 100, 160])
def test_jpeg_pixels_are_pillows_at_every_scale(options, shrink_to):
    data = save_jpeg(PHOTO, **options)
    opened = Image.open(io.BytesIO(data))
    if shrink_to:
        opened.draft("RGB", (shrink_to, shrink_to))
    assert _decode_plain_jpeg(opened, data) is not None  # OpenCV's path is the one compared
    assert np.array_equal(decode_image(data, shrink_to=shrink_to), pillow_pixels(data, shrink_to))


def test_grey_jpeg_becomes_rgb_with_pillows_pixels():
    data = save_jpeg(PHOTO.convert("L"))
    assert np.array_equal(decode_image(data), pillow_pixels(data))


def test_cmyk_jpeg_is_converted_like_pillow():
    data = save_jpeg(PHOTO.convert("CMYK"))
    assert np.array_equal(decode_image(data), pillow_pixels(data))


def test_jpeg_without_end_marker_is_refused_not_filled_with_grey():
    data = save_jpeg(PHOTO)
    with pytest.raises(ImageError, match="truncated"):
        decode_image(data[: len(data) * 2 // 3])


def test_large_jpeg_decodes_at_reduced_scale_to_the_same_picture():
    data = make_image(1600, 1200)
    fast = load_image(data, 36).astype(int)
    full = resize_image(decode_image(data), 36).astype(int)
    assert np.abs(fast - full).mean() < 3


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"<!DOCTYPE html><html><body>Not found</body></html>", "HTML page"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "corrupt"),
        (make_image(200, 200)[:300], "corrupt or truncated"),
    ],
)
def test_bad_bytes_give_one_line_image_errors(data, reason):
    with pytest.raises(ImageError, match=reason) as caught:
        decode_image(data)
    assert "\n" not in str(caught.value)


def test_decompression_bomb_is_refused_before_decoding():
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, "PNG")  # ~50 kB on disk, 400 Mpx decoded
    with pytest.raises(ImageError, match="decompression bomb"):
        decode_image(buffer.getvalue())


def test_byte_cap():
    with pytest.raises(ImageError, match="too large"):
        decode_image(make_image(64, 64), max_bytes=100)
