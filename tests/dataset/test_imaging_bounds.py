"""The decoder's bounds on hostile files: memory per picture, JPEG scans, colour keys.

Each hostile file is tiny on disk and claims a frame at the pixel cap. Its decode runs
in a subprocess whose peak RSS (VmHWM), minus that of a subprocess that only imports
the decoder and reads the file, must stay in budget (README "Failure behaviour").
"""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageOps

from dataset import frames, imaging
from dataset.imaging import ImageError, composite_on_white, count_jpeg_scans, decode_image
from tests.helpers import ROOT, make_image

SHRINKING_BUDGET_MB = 300  # load_image and the views
FULL_SIZE_BUDGET_MB = 420  # decode_image at full size: the frame plus its RGB output
SIDE = 7071  # 49,999,041 pixels, just under MAX_PIXELS
WEBP_SIDE = 6000  # just under MAX_WEBP_PIXELS


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def palette_with_key() -> Image.Image:
    image = Image.new("P", (SIDE, SIDE), 0)
    image.putpalette([0, 0, 0] * 256)
    return image


HOSTILE = {
    "webp_rgba": lambda: encoded(
        Image.new("RGBA", (WEBP_SIDE, WEBP_SIDE), (0, 0, 0, 0)), "WEBP", lossless=True
    ),
    "png_rgba": lambda: encoded(Image.new("RGBA", (SIDE, SIDE)), "PNG", compress_level=1),
    "png_palette_trns": lambda: encoded(palette_with_key(), "PNG", transparency=0),
    "png_la": lambda: encoded(Image.new("LA", (SIDE, SIDE)), "PNG", compress_level=1),
    "png_16bit": lambda: encoded(Image.new("I;16", (SIDE, SIDE)), "PNG", compress_level=1),
    "png_rgb_key": lambda: encoded(
        Image.new("RGB", (SIDE, SIDE)), "PNG", transparency=(0, 0, 0), compress_level=1
    ),
    "tiff_float": lambda: encoded(Image.new("F", (SIDE, SIDE)), "TIFF", compression="tiff_lzw"),
    "tiff_rgba": lambda: encoded(Image.new("RGBA", (SIDE, SIDE)), "TIFF", compression="tiff_lzw"),
    "gif_screen": lambda: encoded(Image.new("P", (SIDE, SIDE)), "GIF"),
}

PROBE = """
import sys, time
from dataset import frames, imaging
data = open(sys.argv[1], "rb").read()
call = sys.argv[2]
start = time.perf_counter()
if call == "load_image":
    imaging.load_image(data, 36)
elif call == "decode_image":
    imaging.decode_image(data)
seconds = time.perf_counter() - start
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(int(hwm.split()[1]) // 1024, round(seconds, 2))
"""


def peak_mb(path, call: str) -> tuple[int, float]:
    """Peak RSS in MB of a fresh process that reads `path` and runs `call` on it."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(path), call],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    mb, seconds = done.stdout.split()
    return int(mb), float(seconds)


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    paths = {}
    for name, make in HOSTILE.items():
        paths[name] = folder / name
        paths[name].write_bytes(make())
    return paths


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize(
    ("call", "budget"), [("load_image", SHRINKING_BUDGET_MB), ("decode_image", FULL_SIZE_BUDGET_MB)]
)
def test_a_tiny_file_at_the_pixel_cap_stays_in_the_memory_budget(hostile_files, name, call, budget):
    path = hostile_files[name]
    assert path.stat().st_size < 2_000_000  # tiny on disk, a whole frame decoded
    baseline, _ = peak_mb(path, "import")
    peak, seconds = peak_mb(path, call)
    print(f"{name} {call}: +{peak - baseline} MB, {seconds} s")
    assert peak - baseline < budget, f"{name} {call}: +{peak - baseline} MB"
    assert seconds < 30  # generous: speed is a benchmark's figure, not a test's


def test_webp_above_its_cap_is_refused():
    data = encoded(Image.new("RGBA", (6100, 6100)), "WEBP", lossless=True)
    with pytest.raises(ImageError, match="WebP too large"):
        decode_image(data)


def test_compositing_in_integers_is_the_float_formula_for_every_value_and_alpha():
    value, alpha = np.meshgrid(np.arange(256), np.arange(256))
    rgba = np.stack([value, value, value, alpha], axis=-1).astype(np.uint8)
    weight = alpha[..., None] / 255.0
    expected = np.rint(rgba[..., :3] * weight + 255 * (1.0 - weight)).astype(np.uint8)
    assert np.array_equal(composite_on_white(rgba), expected)


def random_rgba(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 4), dtype=np.uint8))


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF"])
def test_tiles_give_the_whole_frames_pixels(fmt, monkeypatch):
    data = encoded(random_rgba(300, 200), fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    whole = decode_image(data)
    monkeypatch.setattr(frames, "TILE", 64)
    assert np.array_equal(decode_image(data), whole)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_on_the_output_is_pillows_exif_transpose(orientation):
    image = Image.open(io.BytesIO(make_image(40, 30, fmt="PNG", seed=2))).convert("RGBA")
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encoded(image, "PNG", exif=exif)
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    assert np.array_equal(decode_image(data), np.asarray(expected))


def test_a_large_picture_is_reduced_before_it_is_converted(monkeypatch):
    monkeypatch.setattr(imaging, "REDUCE_ABOVE", 10_000)
    smooth = Image.open(io.BytesIO(make_image(40, 30, fmt="PNG"))).resize((400, 300))
    data = encoded(smooth.convert("RGBA"), "PNG")
    assert not imaging.decodes_at_full_size("PNG", 400, 300, 36)
    reduced = imaging.load_image(data, 36).astype(int)
    full = imaging.resize_image(decode_image(data), 36).astype(int)
    assert np.abs(reduced - full).mean() < 2


# --- progressive JPEGs with repeated scans ---


def many_scans(scans: int) -> bytes:
    """A progressive JPEG whose smallest scan is repeated until it has `scans` scans."""
    data = encoded(Image.new("L", (256, 256), 128), "JPEG", progressive=True)
    starts = [i for i in range(len(data) - 1) if data[i : i + 2] == b"\xff\xda"]
    ends = starts[1:] + [data.rindex(b"\xff\xd9")]
    start, end = min(zip(starts, ends, strict=True), key=lambda se: se[1] - se[0])
    extra = scans - len(starts)
    return data[:end] + data[start:end] * extra + data[end:]


def test_scans_are_counted_from_the_markers():
    assert count_jpeg_scans(encoded(Image.new("RGB", (64, 64)), "JPEG")) == 1
    assert count_jpeg_scans(encoded(Image.new("RGB", (64, 64)), "JPEG", progressive=True)) == 10
    assert count_jpeg_scans(many_scans(500)) == 500


def test_a_jpeg_with_too_many_scans_is_refused_in_one_line():
    with pytest.raises(ImageError, match=r"too many scans \(more than 100\)") as caught:
        decode_image(many_scans(20_000))
    assert "\n" not in str(caught.value)


def test_a_jpeg_at_the_scan_cap_decodes():
    assert decode_image(many_scans(imaging.MAX_JPEG_SCANS)).shape == (256, 256, 3)


def test_scan_markers_inside_a_segment_are_not_scans():
    exif = Image.Exif()
    exif[0x010E] = "\xff\xda" * 200  # ImageDescription full of scan markers
    data = encoded(Image.new("RGB", (32, 32)), "JPEG", exif=exif.tobytes())
    assert count_jpeg_scans(data) == 1
    assert decode_image(data).shape == (32, 32, 3)


def test_the_scan_reader_is_linear_on_a_run_of_fill_bytes():
    data = b"\xff\xd8" + b"\xff" * 5_000_000 + b"\xda\x00\x02" + b"\xff\xd9"
    assert count_jpeg_scans(data) == 1


# --- colour-key transparency (PNG tRNS on grey and RGB pictures) ---


@pytest.mark.parametrize(
    ("mode", "background", "square", "expected"),
    [
        ("RGB", (10, 20, 30), (255, 0, 0), (255, 0, 0)),
        ("L", 40, 100, (100, 100, 100)),
        ("I;16", 4000, 30000, (116, 116, 116)),  # 30000 // 257
        ("1", 255, 0, (0, 0, 0)),
    ],
)
def test_a_colour_key_is_transparent_on_white(mode, background, square, expected):
    image = Image.new(mode, (8, 8), background)
    image.paste(Image.new(mode, (4, 4), square), (0, 0))
    rgb = decode_image(encoded(image, "PNG", transparency=background))
    assert (rgb[4:, 4:] == 255).all()  # the keyed background: white, not black
    assert (rgb[:4, :4] == expected).all()


def test_a_two_bit_grey_key_is_compared_at_its_bit_depth():
    image = Image.new("L", (8, 8), 85)  # 2-bit value 1
    image.paste(Image.new("L", (4, 4), 170), (0, 0))  # 2-bit value 2
    data = encoded(image, "PNG", bits=2, transparency=1)
    rgb = decode_image(data)
    assert (rgb[4:, 4:] == 255).all() and (rgb[:4, :4] == 170).all()
