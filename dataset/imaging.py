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
from PIL import ExifTags, Image, ImageOps

from settings.errors import UserError, first_line

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 50_000_000  # ~7000 x 7000; a larger picture is refused, not decoded
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
WHITE = 255

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

    EXIF orientation is applied, transparency is composited on white, grey,
    palette, CMYK and 16-bit pictures become 8-bit RGB, and an animation gives
    its first frame. `shrink_to` lets JPEG decode at a reduced scale that still
    keeps both sides at least that large (much faster for big photographs).
    Raises ImageError with a one-line reason for anything else.
    """
    if len(data) > max_bytes:
        raise ImageError(f"file too large ({len(data):,} bytes > {max_bytes:,})")
    if sniff_format(data) is None:
        raise ImageError(describe_non_image(data))
    try:
        with warnings.catch_warnings():
            # Pillow warns about odd metadata in files it still decodes: noise here.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = image.size
            if width < 1 or height < 1:
                raise ImageError(f"image has no pixels ({width}x{height})")
            if width * height > max_pixels:
                raise ImageError(
                    f"image too large ({width}x{height} > {max_pixels:,} pixels; "
                    "possible decompression bomb)"
                )
            if shrink_to and image.format in ("JPEG", "MPO"):
                image.draft("RGB", (shrink_to, shrink_to))
            pixels = _decode_plain_jpeg(image, data)
            if pixels is not None:
                return pixels
            image.load()
            image = ImageOps.exif_transpose(image)
            return _to_rgb(image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError("image too large (possible decompression bomb)") from None
    except Exception as e:  # noqa: BLE001 - untrusted bytes into a C decoder
        # Pillow signals malformed input with many exception types (OSError,
        # SyntaxError, struct.error, ValueError, EOFError...); all mean "bad file".
        raise ImageError(f"corrupt or truncated image ({_reason(e)})") from None


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


def _to_rgb(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode == "P" and "transparency" in image.info:
        image, mode = image.convert("RGBA"), "RGBA"
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _high_depth_to_rgb(image)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return _composite_on_white(image.convert("RGBA"))
    if mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image, dtype=np.uint8)


def _composite_on_white(rgba: Image.Image) -> np.ndarray:
    pixels = np.asarray(rgba, dtype=np.float32)
    alpha = pixels[..., 3:] / 255.0
    rgb = pixels[..., :3] * alpha + WHITE * (1.0 - alpha)
    return np.rint(rgb).astype(np.uint8)


def _high_depth_to_rgb(image: Image.Image) -> np.ndarray:
    # 16-bit and 32-bit grey: scale the 16-bit range down to 8 bits.
    values = np.asarray(image, dtype=np.float64)
    grey = np.clip(values / 257.0, 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def _reason(error: Exception) -> str:
    text = first_line(error, 120)
    return text if text == type(error).__name__ else f"{type(error).__name__}: {text}"[:120]
