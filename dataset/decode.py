"""Decode many pictures on every core, each exactly once, through dataset.imaging.

Work is cut into chunks of pictures; each worker process opens the archive (or the
files) itself, so only names go to the workers and only small results come back.

- `fingerprint_all`: for the merge stage, decode each picture at full resolution
  (`imaging.decode_image`), fingerprint it (file sha256, pixel sha256, pHash) and keep
  its pixels in a shared .npy store when it has CIFAKE's native size (32x32), so the
  preprocess stage resizes those without decoding them again.
- `load_all`: `imaging.load_image` on every picture, into one uint8 array or straight
  into the preprocess stage's .npy files (pictures not in the store are decoded again).

`same_as_load_image` says when `resize_image(decode_image(b))` is exactly
`load_image(b)`: always, except for a JPEG at least twice the target size on both
sides, which load_image decodes at a reduced DCT scale (draft mode), and a picture
above `imaging.REDUCE_ABOVE` pixels, which it box-reduces while converting.
"""

from __future__ import annotations

import ctypes
import gc
import hashlib
import os
import signal
import sys
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from dataset import imaging
from dataset.hashing import perceptual_hashes, pixel_sha256
from settings.progress import bar

STORE_SIDE = 32  # CIFAKE's size: pictures decoded at exactly this size keep their pixels
CHUNK = 1000

# One open archive / store per worker process (and per path).
_archives: dict[str, zipfile.ZipFile] = {}
_stores: dict[str, np.ndarray] = {}


def workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def same_as_load_image(fmt: str, width: int, height: int, size: int) -> bool:
    """True when resize_image(decode_image(data), size) == load_image(data, size)."""
    return imaging.decodes_at_full_size(fmt, width, height, size)


def read_bytes(path: str, member: str | None) -> bytes:
    """A file's bytes, or an archive member's (archives stay open in this process)."""
    if not member:
        return Path(path).read_bytes()
    archive = _archives.get(path)
    if archive is None:
        archive = _archives[path] = zipfile.ZipFile(path)
    return archive.read(member)


def short_reason(error: Exception) -> str:
    """A reason to count by: the ImageError's text without its particulars."""
    if isinstance(error, imaging.ImageError):
        return str(error).split(" (", 1)[0]
    if isinstance(error, zipfile.BadZipFile):
        return "unreadable archive member"
    if isinstance(error, FileNotFoundError):
        return "file missing"
    return f"unreadable ({type(error).__name__})"


def _store(path: str, mode: str) -> np.ndarray:
    key = f"{path}:{mode}"
    if key not in _stores:
        _stores[key] = np.load(path, mmap_mode=mode)
    return _stores[key]


def fingerprint_chunk(task: tuple) -> list[tuple]:
    """[(row, sha256, pixel_sha256, phash, width, height, format, stored, reason)].

    task = (items, store_path): items are (row, path, member or None); pictures of
    STORE_SIDE x STORE_SIDE go to row `row` of the .npy store at store_path.
    """
    items, store_path = task
    store = _store(store_path, "r+") if store_path else None
    decoded, results = [], []
    for row, path, member in items:
        try:
            data = read_bytes(path, member)
            rgb = imaging.decode_image(data)
        except Exception as e:  # noqa: BLE001 - ImageError, bad member, vanished file
            results.append((row, None, None, None, 0, 0, None, False, short_reason(e)))
            continue
        decoded.append(rgb)
        height, width = rgb.shape[:2]
        stored = store is not None and rgb.shape == (STORE_SIDE, STORE_SIDE, 3)
        if stored:
            store[row] = rgb
        results.append(
            [
                row,
                hashlib.sha256(data).hexdigest(),
                pixel_sha256(rgb),
                None,
                width,
                height,
                imaging.sniff_format(data),
                stored,
                None,
            ]
        )
    hashes = iter(perceptual_hashes(decoded))
    for result in results:
        if result[8] is None:
            result[3] = next(hashes)
    if store is not None:
        store.flush()
    return [tuple(r) for r in results]


def fingerprint_all(
    items: list[tuple[int, str, str | None]], store_path: Path | None, n_workers: int | None = None
) -> Iterator[tuple]:
    """fingerprint_chunk over all items, on n_workers processes; results in order."""
    store = str(store_path) if store_path else None
    tasks = [(items[i : i + CHUNK], store) for i in range(0, len(items), CHUNK)]
    for chunk in _map(fingerprint_chunk, tasks, n_workers):
        yield from chunk


def load_chunk(task: tuple) -> tuple[int, np.ndarray, list[str | None]]:
    """load_image for a chunk: (start, pixels, per-picture failure reason or None).

    task = (start, items, size, store_path, out): items are (row, path, member,
    format, width, height), the pictures start.. of the whole work list. A stored row
    (row >= 0 in the store) is resized from the store when that equals load_image;
    otherwise the bytes are read and decoded. With out = (npy_path, first_row) the
    pixels are written into rows first_row.. of that .npy and not returned.
    """
    start, items, size, store_path, out = task
    store = _store(store_path, "r") if store_path else None
    if out:
        # Straight into the output file's pages, no buffer and no msync (the parent
        # reads the same page cache): measured faster than a buffer and pwrite
        # (docs/benchmarks/2026-11-25-preprocess.md).
        path, first_row = out
        pixels = _store(path, "r+")[first_row : first_row + len(items)]
    else:
        pixels = np.zeros((len(items), size, size, 3), dtype=np.uint8)
    reasons: list[str | None] = [None] * len(items)
    from_store = [
        k
        for k, (row, _, _, fmt, width, height) in enumerate(items)
        if store is not None and row >= 0 and same_as_load_image(fmt, width, height, size)
    ]
    if from_store:
        # One gather and one resize call for the chunk: row by row, the memmap indexing
        # and the Python around each resize cost more than the resize itself.
        stored = np.asarray(store[np.array([items[k][0] for k in from_store])])
        if len(from_store) == len(items):
            imaging.resize_images(stored, size, pixels)
        else:
            resized = np.empty((len(from_store), size, size, 3), np.uint8)
            imaging.resize_images(stored, size, resized)
            pixels[from_store] = resized
    for k in sorted(set(range(len(items))) - set(from_store)):
        _, path, member, *_ = items[k]
        try:
            pixels[k] = imaging.load_image(read_bytes(path, member), size)
        except Exception as e:  # noqa: BLE001 - a picture that changed since merge
            reasons[k] = short_reason(e)
    return start, np.empty(0, np.uint8) if out else pixels, reasons


def load_all(
    items: list[tuple],
    size: int,
    *,
    store_path: Path | None = None,
    outputs: list[tuple[Path, int]] | None = None,
    n_workers: int | None = None,
    chunk: int = 4000,
    desc: str = "load pictures",
) -> tuple[np.ndarray | None, list[str | None]]:
    """load_image on every item (see load_chunk), on n_workers processes.

    With outputs, [(npy_path, n), ...] of .npy files of shape (n, size, size, 3)
    already created, the items fill them in turn (the first n items the first file,
    and so on) and None is returned for the pixels: memory stays bounded and nothing
    is copied afterwards. Without, one array of all pixels is returned. `desc` names
    the progress bar (settings/progress.py).
    """
    store = str(store_path) if store_path else None
    if outputs:
        rows = sum(n for _, n in outputs)
        if rows != len(items):
            raise ValueError(f"outputs hold {rows} rows, not {len(items)}")
        tasks, begin = [], 0
        for path, n in outputs:
            for row in range(0, n, chunk):
                part = items[begin + row : begin + min(row + chunk, n)]
                tasks.append((begin + row, part, size, store, (str(path), row)))
            begin += n
    else:
        tasks = [(i, items[i : i + chunk], size, store, None) for i in range(0, len(items), chunk)]
    pixels = None if outputs else np.zeros((len(items), size, size, 3), dtype=np.uint8)
    reasons: list[str | None] = [None] * len(items)
    with bar(desc=desc, total=len(items)) as shown:
        for start, part, why in _map(load_chunk, tasks, n_workers):
            if pixels is not None:
                pixels[start : start + len(part)] = part
            reasons[start : start + len(why)] = why
            shown.update(len(why))
    return pixels, reasons


def _map(fn, tasks: list, n_workers: int | None) -> Iterable:
    n = min(n_workers or workers(), len(tasks))
    if n <= 1:
        try:
            yield from map(fn, tasks)
        finally:
            _reset()
        return
    # The forked workers must not walk the parent's objects in every garbage
    # collection (copying their pages): freeze them in the permanent generation.
    gc.freeze()
    try:
        with ProcessPoolExecutor(
            max_workers=n, initializer=_reset, initargs=(os.getpid(),)
        ) as pool:
            yield from pool.map(fn, tasks)
    finally:
        gc.unfreeze()


def _reset(parent: int | None = None) -> None:
    # A forked worker must not share the parent's open archives (one file offset).
    _archives.clear()
    _stores.clear()
    if parent is not None:
        _die_with(parent)


def _die_with(parent: int) -> None:
    """End this worker when the process that started it dies.

    A parent killed by SIGKILL (an out-of-memory kill, `kill -9` of `dvc repro`) cannot
    shut its pool down; without this its workers stay behind, holding memory and
    open archives. The parent-id check covers a parent that died before prctl ran.
    """
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)
