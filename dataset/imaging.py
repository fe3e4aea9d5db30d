"""The project's one way from image bytes to model pixels.

The scraper, the dataset stages, training, evaluation, the prediction command and
the app all call `load_image` (or `decode_image` then `resize_image`), so a picture
is decoded, converted to RGB and resized the same way wherever it is seen. (The
projects this one learns from fed BGR at serving time and RGB at training time,
resized differently in each place; a model then sees other pixels than it learnt.)

Bytes come from the web and from uploads, so decoding is guarded: a byte cap, a
pixel-count cap checked from the header before any pixel is decoded
(decompression bombs), only still-image formats, truncated files refused.

Pillow reads every header and applies every guard. Plain JPEGs (RGB or grey, upright,
complete) are then decoded by OpenCV: both wrap libjpeg-turbo and give the same
pixels (checked on all of CIFAKE and the scraped pictures, and in tests/test_imaging),
and OpenCV's path is the faster one (figures: docs/benchmarks/).
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import ExifTags, Image

from dataset.container import MAX_JPEG_SCANS, container_problem, count_jpeg_scans  # noqa: F401
from dataset.frames import (  # noqa: F401 - composite_on_white is named here too
    composite_on_white,
    decode_still_webp,
    rawmode_of,
    to_rgb,
)
from settings.errors import UserError, first_line

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 50_000_000  # ~7000 x 7000; a larger picture is refused, not decoded
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
# Callers that shrink a picture anyway (load_image, the views) box-reduce one above
# this size while converting it, so its full-size RGB copy never exists.
REDUCE_ABOVE = 24_000_000
# libwebp through OpenCV holds about 8 bytes a pixel, Pillow's animated-WebP decoder
# about 16 (see _check_size): their caps keep a picture's memory in budget.
MAX_WEBP_PIXELS = 36_000_000
MAX_ANIMATED_WEBP_PIXELS = 12_000_000

# Checked from the first bytes: what we accept, and what an image URL often returns.
_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)

# Pillow's own bomb check warns at MAX_IMAGE_PIXELS and raises at twice that; ours
# is stricter and gives our error, so Pillow's is set just above it.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS + 1


class ImageError(UserError, ValueError):
    """These bytes are not a picture the project will use; the message says why."""


def sniff_format(data: bytes) -> str | None:
    """The image format named by the file's magic bytes, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    return None


def describe_non_image(data: bytes) -> str:
    """A short name for what bytes that are not an image look like."""
    head = data[:512].lstrip().lower()
    if not data:
        return "an empty file"
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "an HTML page, not an image"
    if head.startswith((b"<?xml", b"<svg")):
        return "an SVG/XML document, not a raster image"
    if head.startswith((b"{", b"[")):
        return "a JSON document, not an image"
    return "not a supported image (JPEG, PNG, WebP, GIF, BMP, TIFF)"


def decode_image(
    data: bytes,
    *,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
    shrink_to: int | None = None,
) -> np.ndarray:
    """Decode image bytes to an RGB uint8 array of shape (height, width, 3).

    EXIF orientation is applied, transparency (alpha or a colour key) is composited
    on white, grey, palette, CMYK and 16-bit pictures become 8-bit RGB, and an
    animation gives its first frame. `shrink_to` is for callers that shrink the
    picture anyway: a JPEG decodes at a reduced DCT scale, and a picture above
    REDUCE_ABOVE pixels is box-reduced while it is converted; both keep both sides
    at least `shrink_to`. Memory stays near the decoder's own frame (see
    dataset/frames.py). Raises ImageError with a one-line reason for anything else.
    """
    if len(data) > max_bytes:
        raise ImageError(f"file too large ({len(data):,} bytes > {max_bytes:,})")
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageError(describe_non_image(data))
    # The container's structure first, in bounded steps: Pillow's header readers are
    # Python, and a file of nothing but headers would cost seconds and gigabytes there.
    if problem := container_problem(data, fmt, max_pixels):
        raise ImageError(problem)
    try:
        with warnings.catch_warnings():
            # Pillow warns about odd metadata in files it still decodes: noise here.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            rawmode = rawmode_of(image)  # before anything loads the frame (getexif may)
            _check_size(image, max_pixels)
            if image.format in ("JPEG", "MPO") and shrink_to:
                image.draft("RGB", (shrink_to, shrink_to))
            pixels = _decode_plain_jpeg(image, data)
            if pixels is not None:
                return pixels
            orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
            reduce_by = _reduction(image.size, shrink_to)
            rgb = decode_still_webp(image, data, reduce_by)
            if rgb is None:
                rgb = to_rgb(image, reduce_by, rawmode)
            image.close()  # frees the decoded frame before a rotation copies the output
            return _orient(rgb, orientation)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError("image too large (possible decompression bomb)") from None
    except Exception as e:  # noqa: BLE001 - untrusted bytes into a C decoder
        # Pillow signals malformed input with many exception types (OSError,
        # SyntaxError, struct.error, ValueError, EOFError...); all mean "bad file".
        raise ImageError(f"corrupt or truncated image ({_reason(e)})") from None


def _check_size(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError(f"image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise ImageError(
            f"image too large ({width}x{height} > {max_pixels:,} pixels; "
            "possible decompression bomb)"
        )
    # Pillow's animated-WebP decoder holds four whole frames (two canvases, the
    # frame's bytes, Pillow's copy): its own, smaller cap keeps it in budget.
    animated_webp = image.format == "WEBP" and getattr(image, "is_animated", False)
    if animated_webp and width * height > MAX_ANIMATED_WEBP_PIXELS:
        raise ImageError(
            f"animated WebP too large ({width}x{height} > {MAX_ANIMATED_WEBP_PIXELS:,} pixels)"
        )
    if image.format == "WEBP" and width * height > MAX_WEBP_PIXELS:
        raise ImageError(f"WebP too large ({width}x{height} > {MAX_WEBP_PIXELS:,} pixels)")


def resize_image(rgb: np.ndarray, size: int) -> np.ndarray:
    """Resize an RGB array to size x size (the whole picture, not a crop).

    Area interpolation when shrinking (averages pixels, no aliasing); bicubic
    when enlarging, e.g. CIFAKE's 32x32 to the model's 36x36.
    """
    height, width = rgb.shape[:2]
    if (height, width) == (size, size):
        return np.ascontiguousarray(rgb)
    return cv2.resize(rgb, (size, size), interpolation=_interpolation(height, width, size))


def resize_images(rgbs: np.ndarray, size: int, out: np.ndarray) -> None:
    """resize_image on each of N pictures of one shape, (N, h, w, 3), into out (N, S, S, 3).

    For the preprocess stage's stored pictures: writing into `out` and choosing the
    interpolation once saves most of the per-call cost (docs/benchmarks/).
    """
    height, width = rgbs.shape[1:3]
    if (height, width) == (size, size):
        out[...] = rgbs
        return
    interpolation = _interpolation(height, width, size)
    for rgb, target in zip(rgbs, out, strict=True):
        cv2.resize(rgb, (size, size), dst=target, interpolation=interpolation)


def _interpolation(height: int, width: int, size: int) -> int:
    return interpolation_for(shrinking=height >= size and width >= size)


def interpolation_for(*, shrinking: bool) -> int:
    """The project's one resize rule: area when shrinking (no aliasing), bicubic when enlarging."""
    return cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC


def load_image(data: bytes, size: int, **limits) -> np.ndarray:
    """Decode and resize: bytes in, (size, size, 3) uint8 RGB out."""
    return resize_image(decode_image(data, shrink_to=size, **limits), size)


# OpenCV's reduced-scale JPEG decoding, keyed by the DCT scale Pillow's draft chose.
_CV2_SCALE = {
    1: 0,
    2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
    4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
    8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
}


def _decode_plain_jpeg(image: Image.Image, data: bytes) -> np.ndarray | None:
    """libjpeg-turbo through OpenCV for an opened, upright RGB or grey JPEG; else None.

    None sends the picture to Pillow: other modes (CMYK), a rotation to apply (EXIF
    or XMP, as Pillow reads it), and files that do not end with the JPEG end marker,
    because OpenCV fills a truncated file with grey and only warns, while Pillow
    refuses it. The scale is the one Pillow's draft chose.
    """
    if image.format != "JPEG" or image.mode not in ("RGB", "L"):
        return None
    if image.getexif().get(ExifTags.Base.Orientation, 1) != 1:
        return None
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return None
    scale = (getattr(image, "decoderconfig", None) or (1,))[0]
    if scale not in _CV2_SCALE:
        return None
    flags = cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION | _CV2_SCALE[scale]
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if pixels is None or pixels.shape[1::-1] != image.size:
        return None
    return pixels


def _reduction(size: tuple[int, int], shrink_to: int | None) -> int:
    """The box factor a large picture is reduced by for a caller that shrinks it anyway."""
    width, height = size
    if not shrink_to or width * height <= REDUCE_ABOVE:
        return 1
    return max(1, min(width, height) // shrink_to)


def decodes_at_full_size(fmt: str, width: int, height: int, size: int) -> bool:
    """True when load_image(data, size) == resize_image(decode_image(data), size):
    not for a JPEG at least twice `size` on both sides (reduced DCT scale), nor for
    another picture above REDUCE_ABOVE pixels (box-reduced while converted)."""
    if fmt in ("JPEG", "MPO"):
        return min(width, height) < 2 * size
    return _reduction((width, height), size) == 1


def _orient(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """EXIF orientation applied to the output, as ImageOps.exif_transpose would."""
    flips = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: a.transpose(1, 0, 2)[:, ::-1],
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: a.transpose(1, 0, 2)[::-1],
    }
    flip = flips.get(orientation)
    return rgb if flip is None else np.ascontiguousarray(flip(rgb))


def _reason(error: Exception) -> str:
    text = first_line(error, 120)
    return text if text == type(error).__name__ else f"{type(error).__name__}: {text}"[:120]
