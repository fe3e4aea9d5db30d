"""Container bombs (issue 28) are refused from their structure, in bounded time, before
Pillow reads them: by the decoder and by provenance alike (dataset/container.py).
Peak memory per class is measured in subprocesses by `python -m devtools.bomb_bench`."""

from __future__ import annotations

import time

import pytest

from dataset.imaging import ImageError, decode_image
from dataset.provenance import read_provenance
from devtools import bomb_bench

BOMBS = {
    "png_100_mpx": "image too large",
    "jpeg_empty_app1": "JPEG has too many segments",
    "jpeg_fill": "JPEG has too many fill or junk bytes",
    "jpeg_exif_segments": "JPEG has too many Exif segments",
    "png_many_chunks": "PNG has too many chunks",
    "gif_comments": "GIF has too many extension blocks",
    "tiff_strips": "TIFF has too many strips or tiles",
    "bmp_rle8": "run-length BMP too large",
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_container_bomb_is_refused_by_the_decoder_in_bounded_time(name):
    data = getattr(bomb_bench, name)()
    began = time.process_time()
    with pytest.raises(ImageError, match=BOMBS[name]):
        decode_image(data)
    assert time.process_time() - began < 0.5


@pytest.mark.parametrize("name", sorted(set(BOMBS) - {"gif_comments", "bmp_rle8"}))
def test_provenance_does_not_hand_a_container_bomb_to_pillow(name):
    """Provenance read EXIF through Pillow: a 100 Mpx PNG was decoded whole, the JPEG
    segment floods cost seconds and hundreds of MB."""
    data = getattr(bomb_bench, name)()
    began = time.process_time()
    found = read_provenance(data)
    assert time.process_time() - began < 0.5
    assert any(e.startswith("exif: not read: " + BOMBS[name]) for e in found.errors)


def test_an_ordinary_photograph_passes_the_container_check():
    assert decode_image(bomb_bench.photo_12_mpx()).shape == (3000, 4000, 3)
    assert read_provenance(bomb_bench.photo_12_mpx()).errors == []
