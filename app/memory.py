"""Handing freed memory back to the system (glibc; a no-op elsewhere). No Streamlit here.

An upload of ~20 MB passes through buffers of its size (the request body, the decoded
picture, its resized copies), and Streamlit runs each session in its own thread. glibc
raises its mmap threshold to the largest block freed so far (up to 32 MiB), after
which such buffers come from per-thread heaps that are rarely shrunk: the server's
resident memory kept the peak of every session long after the sessions ended
(README "Failure behaviour", devtools/upload_memory.py). Two remedies:
- a fixed threshold: every block of at least MMAP_THRESHOLD bytes is its own mapping,
  returned to the system the moment it is freed;
- `release()` after each batch of pictures gives back the free pages of every heap.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
MMAP_THRESHOLD = 1024 * 1024


@functools.cache
def _libc():
    """glibc, or None (musl, macOS, Windows: their allocators behave otherwise)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    if libc is None or not hasattr(libc, "malloc_trim") or not hasattr(libc, "mallopt"):
        return None
    return libc


@functools.cache
def fix_mmap_threshold() -> bool:
    """Large blocks always mapped on their own (once per process); False if not glibc."""
    libc = _libc()
    if libc is None:
        return False
    ok = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    if not ok:
        log.warning("mallopt(M_MMAP_THRESHOLD) refused; freed memory may stay resident")
    return ok


def release() -> bool:
    """Return the free pages of every malloc heap to the system; False if not glibc."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
