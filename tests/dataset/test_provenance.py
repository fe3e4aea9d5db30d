"""dataset/provenance.py: Content Credentials, IPTC source types, generator settings and
camera EXIF read from the original bytes; hostile files bounded, one-line errors."""

from __future__ import annotations

import struct
import time
import zlib

import pytest

from dataset.provenance import MISSING, png_text, read_provenance
from tests.helpers import jpeg_with, make_image, png_with_text, with_c2pa, xmp_packet


def test_signed_ai_picture_says_who_made_and_signed_it():
    found = read_provenance(with_c2pa(make_image(120, 90)))
    assert found.c2pa_state == "Valid" and found.c2pa_signer == "Realorai Test Lab"
    assert found.c2pa_generator == "Test Generator 2.1"
    assert (found.digital_source_type, found.source_type_from) == (
        "trainedAlgorithmicMedia",
        "c2pa",
    )
    assert found.says_ai is True and not found.errors
    line = found.lines()[0]
    assert line.startswith(
        "Content Credentials: made with Test Generator 2.1, signed by Realorai Test Lab — valid"
    )
    assert "made by generative AI (trainedAlgorithmicMedia)" in line


def test_composite_png_with_credentials():
    data = with_c2pa(
        make_image(120, 90, fmt="PNG"),
        "image/png",
        source_type="compositeWithTrainedAlgorithmicMedia",
    )
    found = read_provenance(data)
    assert found.c2pa_state == "Valid"
    assert found.digital_source_type == "compositeWithTrainedAlgorithmicMedia"
    assert "AI-generated parts" in found.summary()


def test_changed_pixels_break_the_signature():
    data = bytearray(with_c2pa(make_image(120, 90)))
    data[-40] ^= 0xFF  # inside the JPEG's entropy-coded pixels, hashed by the manifest
    found = read_provenance(bytes(data))
    assert found.c2pa_state == "Invalid" and "changed after signing" in found.lines()[0]


def test_xmp_source_type_without_a_manifest_is_unsigned():
    found = read_provenance(jpeg_with(xmp=xmp_packet("trainedAlgorithmicMedia")))
    assert (found.digital_source_type, found.source_type_from) == ("trainedAlgorithmicMedia", "xmp")
    assert found.c2pa_state is None and found.software == "Test Painter 3"
    assert "unsigned" in found.lines()[0] and "generative AI" in found.lines()[0]


def test_stable_diffusion_parameters_in_png_text():
    parameters = (
        "a cat on a sofa\nNegative prompt: blurry\n"
        "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Model: sd15"
    )
    found = read_provenance(png_with_text({"parameters": parameters}))
    assert found.png_generator == "Stable Diffusion web UI" and found.says_ai
    assert found.generator_settings.startswith("Steps: 20, Sampler: Euler a")
    assert "Generator settings from Stable Diffusion web UI" in found.summary()


@pytest.mark.parametrize("key", ["prompt", "workflow"])
def test_comfyui_graph_in_compressed_png_text(key):
    found = read_provenance(
        png_with_text({key: '{"3": {"class_type": "KSampler"}}'}, compressed=True)
    )
    assert found.png_generator == "ComfyUI" and key in found.generator_settings


def test_camera_exif_is_weak_evidence():
    found = read_provenance(jpeg_with(make="Canon", model="Canon EOS R5", software="Firmware 1.8"))
    assert found.camera == "Canon EOS R5" and found.software == "Firmware 1.8"
    assert found.says_ai is None
    assert found.lines() == [
        "Camera metadata (weak evidence, easy to copy or fake): camera Canon EOS R5, "
        "software Firmware 1.8."
    ]


def test_no_metadata_proves_nothing():
    found = read_provenance(make_image(80, 60))
    assert not found.found and found.lines() == [MISSING] and "proves nothing" in MISSING


def test_fields_for_the_prediction_command_are_flat():
    fields = read_provenance(with_c2pa(make_image(120, 90))).fields()
    assert fields["c2pa_state"] == "Valid" and fields["provenance_errors"] is None
    assert all(not isinstance(v, (list, dict)) for v in fields.values())
    assert fields["provenance"].startswith("Content Credentials:")


# --- hostile files ---


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_a_compressed_text_bomb_is_cut_short():
    bomb = zlib.compress(b"A" * (200 << 20), 9)  # 200 MB of text in ~200 KB
    data = make_image(40, 30, fmt="PNG")
    data = data[:33] + png_chunk(b"zTXt", b"parameters\0\0" + bomb) + data[33:]
    start = time.perf_counter()
    texts = png_text(data)
    assert len(texts["parameters"]) <= 64 << 10 and time.perf_counter() - start < 1


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff\xe0 jumb c2pa " + b"\0" * 100,  # markers, no real manifest
        make_image(80, 60)[:200] + b"jumbc2pa",
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 2**31) + b"tEXt",  # a chunk longer than the file
        b"<x:xmpmeta " + b"DigitalSourceType=" * 100_000,  # an XMP packet that never ends
        b"",
    ],
)
def test_broken_files_never_raise(data):
    found = read_provenance(data)
    assert all("\n" not in line for line in found.errors)
    assert found.lines()


def test_truncated_manifest_is_one_error_line_or_nothing():
    data = with_c2pa(make_image(120, 90))
    cut = data[: data.find(b"c2pa") + 300] + b"\xff\xd9"
    found = read_provenance(cut)
    assert found.c2pa_state in (None, "Invalid")
    assert all("\n" not in line and len(line) < 200 for line in found.errors)


def test_a_slow_reader_is_abandoned(monkeypatch):
    from dataset import content_credentials

    monkeypatch.setattr(content_credentials, "_read_store", lambda data, mime: time.sleep(3))
    start = time.perf_counter()
    found = read_provenance(with_c2pa(make_image(60, 40)), c2pa_timeout=0.2)
    assert time.perf_counter() - start < 2
    assert found.errors and "took over 0.2 s" in found.errors[0]


def test_many_text_chunks_keep_memory_bounded():
    bomb = zlib.compress(b"B" * (1 << 20), 9)
    chunks = b"".join(png_chunk(b"zTXt", b"junk%d\0\0" % i + bomb) for i in range(2000))
    data = make_image(40, 30, fmt="PNG")
    data = data[:33] + chunks + png_chunk(b"tEXt", b"parameters\0Steps: 5") + data[33:]
    start = time.perf_counter()
    assert png_text(data) == {"parameters": "Steps: 5"}  # other keywords are not inflated
    assert time.perf_counter() - start < 1
