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
import re
import warnings

import cv2
import numpy as np
from PIL import ExifTags, Image

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
# libjpeg's progressive scripts write 10 scans (6 for grey); each scan is one more
# pass over every block, and a file of repeated empty scans is small and very slow.
MAX_JPEG_SCANS = 100
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

    EXIF orientation is applied, transparency (alpha or a colour key) is composited
    on white, grey, palette, CMYK and 16-bit pictures become 8-bit RGB, and an
    animation gives its first frame. `shrink_to` is for callers that shrink the
    picture anyway: a JPEG decodes at a reduced DCT scale, and a picture above
    REDUCE_ABOVE pixels is box-reduced while it is converted; both keep both sides
    at least `shrink_to`. Memory stays near the decoder's own frame (see
    _frame_to_rgb). Raises ImageError with a one-line reason for anything else.
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
            rawmode = _rawmode(image)  # before anything loads the frame (getexif may)
            _check_size(image, max_pixels)
            if image.format in ("JPEG", "MPO"):
                _check_jpeg_scans(data)
                if shrink_to:
                    image.draft("RGB", (shrink_to, shrink_to))
            pixels = _decode_plain_jpeg(image, data)
            if pixels is not None:
                return pixels
            orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
            reduce_by = _reduction(image.size, shrink_to)
            rgb = _decode_still_webp(image, data, reduce_by)
            if rgb is None:
                rgb = _to_rgb(image, reduce_by, rawmode)
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


# --- whole frames to RGB, a tile at a time -------------------------------------------
#
# The decoder's frame (Pillow's, or OpenCV's for a still WebP) is the one whole-frame
# buffer: every conversion (palette, grey, 16-bit, alpha or colour key on white)
# reads a tile of it and writes into the preallocated uint8 output, so a tiny file
# claiming a large frame costs that frame plus its RGB output, never float copies.

TILE = 1024  # a tile's side: its temporaries stay a few tens of MB at any frame width
_HIGH_DEPTH = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
_ALPHA = ("RGBA", "LA", "PA", "RGBa", "La")
# Grey PNGs of 2 and 4 bits are read as L, scaled to 0-255; their colour key is not.
_KEY_SCALE = {"L;2": 85, "L;4": 17}


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


def _frame_to_rgb(width: int, height: int, tile_to_rgb, reduce_by: int) -> np.ndarray:
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


def _to_rgb(image: Image.Image, reduce_by: int = 1, rawmode: str | None = None) -> np.ndarray:
    """A Pillow image of any mode as RGB uint8 (box-reduced by `reduce_by`)."""
    image.load()

    def tile_to_rgb(left: int, top: int, right: int, bottom: int) -> np.ndarray:
        whole = (left, top, right, bottom) == (0, 0, *image.size)
        return _tile_to_rgb(image if whole else image.crop((left, top, right, bottom)), rawmode)

    return _frame_to_rgb(*image.size, tile_to_rgb, reduce_by)


def _rawmode(image: Image.Image) -> str | None:
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


def _decode_still_webp(image: Image.Image, data: bytes, reduce_by: int) -> np.ndarray | None:
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

    return _frame_to_rgb(*image.size, tile_to_rgb, reduce_by)


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


_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")  # not stuffing, not a restart


def _check_jpeg_scans(data: bytes) -> None:
    """Refuse a JPEG with more than MAX_JPEG_SCANS scans, before decoding it."""
    if data.count(b"\xff\xda") <= MAX_JPEG_SCANS:  # every scan marker is one of these
        return
    scans = count_jpeg_scans(data)
    if scans > MAX_JPEG_SCANS:
        raise ImageError(f"JPEG has too many scans ({scans:,} > {MAX_JPEG_SCANS})")


def count_jpeg_scans(data: bytes) -> int:
    """The JPEG's start-of-scan (SOS) segments, reading its markers in one pass: a
    segment is skipped by its length, entropy-coded data by searching for the next
    0xFF that is not stuffing (0xFF00) nor a restart marker (0xFFD0-D7)."""
    scans, position = 0, 2
    while (found := _NEXT_MARKER.search(data, position)) is not None:
        marker, position = found[0][1], found.end()
        if marker == 0xD9:  # end of image
            break
        if marker == 0xDA:
            scans += 1
        if marker != 0x01:  # TEM has no length; every other marker here has one
            position += int.from_bytes(data[position : position + 2], "big")
    return scans


def _reason(error: Exception) -> str:
    text = first_line(error, 120)
    return text if text == type(error).__name__ else f"{type(error).__name__}: {text}"[:120]
