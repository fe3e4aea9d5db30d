"""Attack the one decoder: every input ends as RGB pixels or an ImageError, nothing else.

Over 10,000 generated and mutated files in total: random bytes, valid pictures with
flipped bytes, cut files, the header of one format on the body of another, and
headers claiming absurd dimensions.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataset.imaging import ImageError, decode_image, load_image
from tests.helpers import make_image

FORMATS = ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"]
SEEDS = {fmt: make_image(24, 16, fmt=fmt, seed=i) for i, fmt in enumerate(FORMATS)}
FUZZ = settings(
    max_examples=2_500,
    deadline=None,
    derandomize=True,  # the same files every run: a failure is reproducible
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def assert_decodes_or_refuses(data: bytes) -> None:
    try:
        pixels = load_image(data, 36)
    except ImageError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert pixels.shape == (36, 36, 3) and pixels.dtype == np.uint8


@st.composite
def mutated_images(draw):
    data = bytearray(SEEDS[draw(st.sampled_from(FORMATS))])
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    return bytes(data)


@st.composite
def cut_images(draw):
    data = SEEDS[draw(st.sampled_from(FORMATS))]
    return data[: draw(st.integers(0, len(data) - 1))]


@st.composite
def spliced_images(draw):
    head, body = draw(st.sampled_from(FORMATS)), draw(st.sampled_from(FORMATS))
    cut = draw(st.integers(2, 64))
    return SEEDS[head][:cut] + SEEDS[body][cut:]


def png_claiming(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", len(idat))
        + b"IDAT"
        + idat
        + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
        + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    )


def gif_claiming(width: int, height: int) -> bytes:
    return (
        b"GIF89a" + struct.pack("<HH", width & 0xFFFF, height & 0xFFFF) + b"\x00\x00\x00" + b"\x3b"
    )


def bmp_claiming(width: int, height: int) -> bytes:
    header = struct.pack("<IiiHHIIiiII", 40, width, -height, 1, 24, 0, 0, 0, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + 16, 0, 0, 54) + header + b"\x00" * 16


dimensions = st.integers(0, 2**31 - 1)


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(data):
    assert_decodes_or_refuses(data)


@FUZZ
@given(mutated_images())
def test_valid_pictures_with_flipped_bytes(data):
    assert_decodes_or_refuses(data)


@FUZZ
@given(cut_images())
def test_cut_files(data):
    assert_decodes_or_refuses(data)


@FUZZ
@given(spliced_images())
def test_one_formats_header_on_another(data):
    assert_decodes_or_refuses(data)


@settings(FUZZ, max_examples=500)
@given(dimensions, dimensions, st.sampled_from([png_claiming, gif_claiming, bmp_claiming]))
def test_absurd_dimensions(width, height, claim):
    assert_decodes_or_refuses(claim(width, height))


@pytest.mark.parametrize("claim", [png_claiming, gif_claiming, bmp_claiming])
def test_giant_claims_are_refused_as_bombs(claim):
    with pytest.raises(ImageError, match="too large|corrupt"):
        decode_image(claim(60_000, 60_000))
