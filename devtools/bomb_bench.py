"""What a hostile file costs: peak memory and CPU seconds per file class, through the
decoder (`dataset.imaging.decode_image`) and provenance (`dataset.provenance`).

    python -m devtools.bomb_bench [--root DIR] [--only NAME ...]

Each file class of issue 28 is built in memory (all under the 20 MB upload cap) and
written to a temporary file; each (class, path) runs in a fresh subprocess that
imports the project, reads the file, then measures the extra peak resident memory
(ru_maxrss after minus before) and the CPU seconds (user + system) of the one call.
`--root` runs another checkout's code (e.g. `git archive <commit> | tar -x -C DIR`)
for a before/after table. The budget: 300 MB and 2 s of CPU a file, on every path.
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
BUDGET_MB, BUDGET_S = 300, 2.0

CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from dataset.imaging import ImageError, decode_image
from dataset.provenance import read_provenance
data = open(sys.argv[2], "rb").read()
def usage():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_maxrss / 1024, r.ru_utime + r.ru_stime
rss0, cpu0 = usage()
try:
    if sys.argv[3] == "decoder":
        outcome = "pixels %dx%d" % decode_image(data).shape[1::-1]
    else:
        p = read_provenance(data)
        outcome = ("; ".join(p.errors) or "read")[:70]
except ImageError as e:
    outcome = "refused: " + str(e)[:62]
rss1, cpu1 = usage()
print(json.dumps({"mb": rss1 - rss0, "s": cpu1 - cpu0, "outcome": outcome}))
"""


def _jpeg(size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 120, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def png_100_mpx() -> bytes:
    """1. a small PNG declaring 10,000 x 10,000 grey pixels (all zero)."""
    side = 10_000
    compressor, parts = zlib.compressobj(9), []
    row = b"\0" * (side + 1)
    for _ in range(side):
        parts.append(compressor.compress(row))
    parts.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    exif = _chunk(b"eXIf", b"MM\x00*\x00\x00\x00\x08\x00\x00")
    idat = _chunk(b"IDAT", b"".join(parts))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + idat + exif + _chunk(b"IEND", b"")


def jpeg_empty_app1() -> bytes:
    """2. 2.5 million empty APP1 segments before a small JPEG's own."""
    return b"\xff\xd8" + b"\xff\xe1\x00\x02" * 2_500_000 + _jpeg()[2:]


def jpeg_fill() -> bytes:
    """3. 16 MB of 0xFF fill bytes before a small JPEG's first segment."""
    return b"\xff\xd8" + b"\xff" * 16_000_000 + _jpeg()[2:]


def jpeg_exif_segments() -> bytes:
    """4. 130,000 tiny Exif segments."""
    segment = b"\xff\xe1" + struct.pack(">H", 20) + b"Exif\0\0" + b"MM\x00*" + b"\0" * 8
    return b"\xff\xd8" + segment * 130_000 + _jpeg()[2:]


def png_many_chunks() -> bytes:
    """5. 1.6 million empty ancillary chunks before a small PNG's data."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48)).save(buffer, "PNG")
    small = buffer.getvalue()
    return small[:33] + _chunk(b"tEXt", b"") * 1_600_000 + small[33:]


def gif_comments() -> bytes:
    """6. a GIF whose first image follows 19 MB of comment sub-blocks."""
    buffer = io.BytesIO()
    Image.new("P", (64, 48)).save(buffer, "GIF")
    small = buffer.getvalue()
    at = small.index(b"\x2c")  # the image descriptor
    comment = b"\x21\xfe" + (b"\xff" + b"c" * 255) * 74_000 + b"\0"
    return small[:at] + comment + small[at:]


def tiff_strips() -> bytes:
    """7. 900,000 one-row strips (one byte each, all pointing at the same byte)."""
    strips = 900_000
    entries = [
        (256, 4, 1, 1), (257, 4, 1, strips), (258, 3, 1, 8), (259, 3, 1, 1),
        (262, 3, 1, 1), (273, 4, strips, None), (277, 3, 1, 1), (278, 4, 1, 1),
        (279, 4, strips, None),
    ]  # fmt: skip
    header_end = 8 + 2 + 12 * len(entries) + 4
    offsets_at, counts_at = header_end, header_end + 4 * strips
    pixel_at = counts_at + 4 * strips
    out = bytearray(b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries)))
    for tag, kind, count, value in entries:
        value = {273: offsets_at, 279: counts_at}.get(tag, value)
        out += struct.pack("<HHII", tag, kind, count, value)
    out += b"\0\0\0\0"
    out += struct.pack("<I", pixel_at) * strips + struct.pack("<I", 1) * strips + b"\x80"
    return bytes(out)


def bmp_rle8() -> bytes:
    """8. a 5 KB RLE8 BMP declaring 7,000 x 7,000 pixels."""
    width = height = 7000
    runs = b"\xff\x01" * 2500 + b"\x00\x01"
    palette = b"".join(bytes((i, i, i, 0)) for i in range(256))
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(runs), 0, 0, 256, 0)
    head = b"BM" + struct.pack("<IHHI", offset + len(runs), 0, 0, offset)
    return head + info + palette + runs


def photo_12_mpx() -> bytes:
    """control: an ordinary 4000 x 3000 JPEG."""
    return _jpeg((4000, 3000))


CLASSES = {f.__name__: f for f in (png_100_mpx, jpeg_empty_app1, jpeg_fill, jpeg_exif_segments,
           png_many_chunks, gif_comments, tiff_strips, bmp_rle8, photo_12_mpx)}  # fmt: skip


def measure(root: Path, path: Path, route: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), str(path), route],
        capture_output=True, text=True, timeout=600, cwd=root,
    )  # fmt: skip
    if done.returncode:
        return {"mb": float("nan"), "s": float("nan"), "outcome": done.stderr.strip()[-70:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bomb_bench")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure")
    parser.add_argument("--only", nargs="*", choices=sorted(CLASSES), help="these classes only")
    args = parser.parse_args(argv)
    print(f"code: {args.root}; budget {BUDGET_MB} MB and {BUDGET_S:g} s of CPU a file")
    print("| file class | bytes | path | extra peak MB | CPU s | outcome |")
    print("|---|---|---|---|---|---|")
    over = 0
    with tempfile.TemporaryDirectory() as folder:
        for name, build in CLASSES.items():
            if args.only and name not in args.only:
                continue
            path = Path(folder) / name
            path.write_bytes(build())
            for route in ("decoder", "provenance"):
                m = measure(args.root.resolve(), path, route)
                over += not (m["mb"] <= BUDGET_MB and m["s"] <= BUDGET_S)
                print(f"| {name} | {path.stat().st_size:,} | {route} | {m['mb']:.0f} "
                      f"| {m['s']:.2f} | {m['outcome']} |", flush=True)  # fmt: skip
    print(f"{over} measurement(s) over budget")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
