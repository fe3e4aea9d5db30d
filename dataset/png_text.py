"""The text chunks of a PNG (tEXt, zTXt, iTXt), read by hand and bounded: only the
keywords asked for are kept or inflated, each to MAX_TEXT bytes, over at most
MAX_CHUNKS chunks, so a hostile file costs neither memory nor time."""

from __future__ import annotations

import struct
import zlib

MAX_TEXT = 64 << 10  # bytes of one text chunk kept (after decompression)
MAX_CHUNKS = 4096  # chunks walked
TEXT_KEYS = ("parameters", "prompt", "workflow", "Software")


def png_text(data: bytes, keys=TEXT_KEYS) -> dict[str, str]:
    """The PNG's tEXt, zTXt and iTXt chunks named in `keys`, {keyword: text}, each cut
    to MAX_TEXT: memory stays bounded whatever the file holds."""
    texts: dict[str, str] = {}
    pos = 8
    for _ in range(MAX_CHUNKS):
        if pos + 8 > len(data):
            break
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IEND":
            break
        if kind not in (b"tEXt", b"zTXt", b"iTXt") or b"\0" not in body:
            continue
        key, rest = body.split(b"\0", 1)
        name = key.decode("latin-1")[:80]
        if name not in keys or name in texts:
            continue
        if kind == b"tEXt":
            raw = rest[:MAX_TEXT]
        elif kind == b"zTXt":
            raw = _inflate(rest[1:])
        else:  # iTXt: compression flag, method, language\0, translated keyword\0, text
            flag, rest = rest[:1], rest[2:]
            parts = rest.split(b"\0", 2)
            text = parts[2] if len(parts) == 3 else b""
            raw = _inflate(text) if flag == b"\x01" else text[:MAX_TEXT]
        texts[name] = raw.decode("utf-8", "replace")
    return texts


def _inflate(compressed: bytes) -> bytes:
    """At most MAX_TEXT bytes of zlib data (a small bomb cannot grow past it)."""
    return zlib.decompressobj().decompress(compressed, MAX_TEXT)


def png_chunk(data: bytes, kind: bytes, limit: int = 1 << 20) -> bytes | None:
    """The first chunk of type `kind` (e.g. b"eXIf"), at most `limit` bytes of it, over
    at most MAX_CHUNKS chunks; None when there is none."""
    pos = 8
    for _ in range(MAX_CHUNKS):
        if pos + 8 > len(data):
            break
        length, found = struct.unpack(">I4s", data[pos : pos + 8])
        if found == kind:
            return data[pos + 8 : pos + 8 + min(length, limit)]
        if found == b"IEND":
            break
        pos += 12 + length
    return None
