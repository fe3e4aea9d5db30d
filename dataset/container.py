"""A picture's container structure, read by hand before Pillow sees the bytes.

Pillow reads a file's headers in Python, a marker, chunk, block or strip at a time,
and some of its readers grow a buffer with each one. A small file built of nothing
but headers therefore costs seconds and hundreds of megabytes before any pixel is
decoded (issue 28: 2.5 million empty JPEG segments, 16 MB of JPEG fill bytes, 1.6
million PNG chunks, GIF comment blocks, 900k TIFF strips, a 5 KB RLE BMP). This
module walks the same structure in a bounded number of steps (entropy-coded and
image data are skipped by length or by a C-speed search) and names the first limit
a file goes past; `dataset.imaging.decode_image` and `dataset.provenance` both ask
it before they open a file with Pillow. The limits are far above what encoders
write (the numbers beside each).
"""

from __future__ import annotations

import re
import struct

MAX_JPEG_SCANS = 100  # libjpeg's progressive scripts write 10 (6 for grey)
MAX_JPEG_SEGMENTS = 1000  # cameras write 10-30; a 20 MB XMP split in 64 KB parts is 320
MAX_JPEG_EXIF_SEGMENTS = 4  # one Exif segment is the rule; Pillow joins them quadratically
MAX_JPEG_STRAY = 4096  # fill (0xFF) and junk bytes between segments: encoders write none
MAX_PNG_CHUNKS = 20_000  # a 20 MB PNG in 8 KB IDAT chunks is 2,500
MAX_GIF_EXTENSION_BLOCKS = 8192  # sub-blocks of extensions (comments, frame controls)
MAX_TIFF_STRIPS = 65_536  # strips or tiles of the first picture; encoders write ~8 KB strips
MAX_TIFF_VALUES = 1_000_000  # values of all tags of the first directory
MAX_BMP_RLE_PIXELS = 4_000_000  # Pillow's RLE decoder is pure Python

_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_NO_LENGTH = {0x01, 0xD8, *range(0xD0, 0xD8)}  # TEM, SOI, RSTn
_FILL = re.compile(rb"\xff+")
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")  # not stuffing, not a restart


def container_problem(data: bytes, fmt: str | None, max_pixels: int) -> str | None:
    """Why this file's structure is refused before Pillow reads it, in one line, or None."""
    check = _CHECKS.get(fmt)
    try:
        return check(data, max_pixels) if check else None
    except (struct.error, IndexError, ValueError):
        return None  # cut short: Pillow refuses it as truncated, at its own small cost


def too_large(width: int, height: int, max_pixels: int) -> str | None:
    if width * height > max_pixels:
        return (
            f"image too large ({width}x{height} > {max_pixels:,} pixels; "
            "possible decompression bomb)"
        )
    return None


def _jpeg(data: bytes, max_pixels: int) -> str | None:
    """The segments up to the first scan as Pillow reads them (byte by byte between
    segments), then every scan and segment after it to the end marker."""
    pos, segments, exif, stray, scans = 2, 0, 0, 0, 0
    while pos < len(data):
        if data[pos] != 0xFF:  # junk, which Pillow skips a byte at a time
            found = data.find(b"\xff", pos)
            stray, pos = stray + (found if found >= 0 else len(data)) - pos, found
            if found < 0 or stray > MAX_JPEG_STRAY:
                break
            continue
        fill = _FILL.match(data, pos).end()
        stray += fill - pos - 1
        if stray > MAX_JPEG_STRAY or fill >= len(data):
            break
        marker, pos = data[fill], fill + 1
        if marker == 0 or marker in _NO_LENGTH:
            continue
        if marker == 0xD9:
            return None
        segments += 1
        exif += marker == 0xE1 and data[pos + 2 : pos + 8] == b"Exif\0\0"
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[pos + 3 : pos + 7])
            if problem := too_large(width, height, max_pixels):
                return problem
        pos += struct.unpack(">H", data[pos : pos + 2])[0]
        if segments > MAX_JPEG_SEGMENTS or exif > MAX_JPEG_EXIF_SEGMENTS:
            break
        if marker == 0xDA:
            scans, segments = _after_first_scan(data, pos, segments)
            break
    if stray > MAX_JPEG_STRAY:
        return f"JPEG has too many fill or junk bytes between segments (> {MAX_JPEG_STRAY:,})"
    if exif > MAX_JPEG_EXIF_SEGMENTS:
        return f"JPEG has too many Exif segments ({exif} > {MAX_JPEG_EXIF_SEGMENTS})"
    if scans > MAX_JPEG_SCANS:
        return f"JPEG has too many scans (more than {MAX_JPEG_SCANS})"
    if segments > MAX_JPEG_SEGMENTS:
        return f"JPEG has too many segments (> {MAX_JPEG_SEGMENTS:,})"
    return None


def _after_first_scan(data: bytes, pos: int, segments: int) -> tuple[int, int]:
    """(scans, segments) to the end marker: entropy-coded data is skipped by searching
    for the next 0xFF that is not stuffing (0xFF00) nor a restart marker."""
    scans = 1
    while (found := _NEXT_MARKER.search(data, pos)) is not None:
        marker, pos = found[0][1], found.end()
        if marker == 0xD9:  # end of image
            break
        segments += 1
        scans += marker == 0xDA
        if scans > MAX_JPEG_SCANS or segments > MAX_JPEG_SEGMENTS:
            break
        if marker != 0x01:  # TEM has no length; every other marker here has one
            pos += int.from_bytes(data[pos : pos + 2], "big")
    return scans, segments


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


def _png(data: bytes, max_pixels: int) -> str | None:
    pos, chunks = 8, 0
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunks += 1
        if chunks > MAX_PNG_CHUNKS:
            return f"PNG has too many chunks (> {MAX_PNG_CHUNKS:,})"
        if kind == b"IHDR":
            width, height = struct.unpack(">II", data[pos + 8 : pos + 16])
            if problem := too_large(width, height, max_pixels):
                return problem
        if kind == b"IEND":
            break
        pos += 12 + length
    return None


def _gif(data: bytes, max_pixels: int) -> str | None:
    """Every block to the trailer: extension sub-blocks are counted, image data skipped
    by its sub-block lengths."""
    width, height, flags = struct.unpack("<HHB", data[6:11])
    if problem := too_large(width, height, max_pixels):
        return problem
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    extension_blocks = 0
    while pos < len(data):
        kind = data[pos]
        if kind == 0x21:  # extension: label, then sub-blocks
            pos, blocks = _sub_blocks(data, pos + 2)
            extension_blocks += blocks
            if extension_blocks > MAX_GIF_EXTENSION_BLOCKS:
                return f"GIF has too many extension blocks (> {MAX_GIF_EXTENSION_BLOCKS:,})"
        elif kind == 0x2C:  # image: descriptor, local colour table, LZW size, data
            width, height, flags = struct.unpack("<HHB", data[pos + 5 : pos + 10])
            if problem := too_large(width, height, max_pixels):
                return problem
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
            pos = _sub_blocks(data, pos)[0]
        else:  # the trailer, or bytes Pillow stops at
            break
    return None


def _sub_blocks(data: bytes, pos: int) -> tuple[int, int]:
    """(position after the terminator, number of sub-blocks) of a sub-block chain."""
    count = 0
    while pos < len(data) and data[pos]:
        pos += 1 + data[pos]
        count += 1
    return pos + 1, count


def _tiff(data: bytes, max_pixels: int) -> str | None:
    """The first directory: its strips or tiles, its values, its declared size."""
    order = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", data[4:8])
    (entries,) = struct.unpack(order + "H", data[offset : offset + 2])
    size, strips, values = {}, 0, 0
    for at in range(offset + 2, offset + 2 + 12 * entries, 12):
        tag, kind, count = struct.unpack(order + "HHI", data[at : at + 8])
        if kind not in (1, 2, 6, 7):  # bytes are one buffer; other values one object each
            values += count
        if tag in (273, 279, 324, 325):  # strip or tile offsets and byte counts
            strips = max(strips, count)
        if tag in (256, 257) and count == 1:
            short = kind == 3
            value = data[at + 8 : at + (10 if short else 12)]
            size[tag] = struct.unpack(order + ("H" if short else "I"), value)[0]
    if strips > MAX_TIFF_STRIPS:
        return f"TIFF has too many strips or tiles ({strips:,} > {MAX_TIFF_STRIPS:,})"
    if values > MAX_TIFF_VALUES:
        return f"TIFF directory holds too many values ({values:,} > {MAX_TIFF_VALUES:,})"
    return too_large(size.get(256, 0), size.get(257, 0), max_pixels)


def _bmp(data: bytes, max_pixels: int) -> str | None:
    (header,) = struct.unpack("<I", data[14:18])
    if header < 40:  # the old OS/2 header: 16-bit sizes, no compression
        width, height = struct.unpack("<HH", data[18:22])
        compression = 0
    else:
        width, height, _, _, compression = struct.unpack("<iiHHI", data[18:34])
    width, height = abs(width), abs(height)
    if problem := too_large(width, height, max_pixels):
        return problem
    if compression in (1, 2) and width * height > MAX_BMP_RLE_PIXELS:
        return (
            f"run-length BMP too large ({width}x{height} > {MAX_BMP_RLE_PIXELS:,} pixels; "
            "save it as PNG)"
        )
    return None


_CHECKS = {"JPEG": _jpeg, "PNG": _png, "GIF": _gif, "TIFF": _tiff, "BMP": _bmp}
