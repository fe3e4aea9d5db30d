"""Outputs that appear whole or not at all.

Every file and folder a data stage writes is built under a temporary name beside
its destination and moved into place with os.replace, so a stage killed at any
moment (SIGKILL included) leaves the previous output or none, never half of one,
and running it again gives the same result.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

TEMP_MARK = ".tmp-"  # temporaries are named .<name>.tmp-<pid>


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}")


def is_temporary(name: str) -> bool:
    """Whether a file name is one of this module's temporaries (a killed writer's leftover)."""
    return name.startswith(".") and TEMP_MARK in name


def clear_stale(path: Path) -> None:
    """Remove temporaries that a killed earlier run left beside `path`."""
    for stale in path.parent.glob(f".{path.name}.tmp-*"):
        with contextlib.suppress(ProcessLookupError, ValueError, PermissionError):
            pid = int(stale.name.rsplit("-", 1)[1])
            if pid != os.getpid():
                os.kill(pid, 0)  # still running: leave it alone
                continue
        _remove(stale)
    _remove(path.with_name(f".{path.name}.old"))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: Path | str) -> Iterator[Path]:
    """Yield an empty temporary folder; on success it replaces `path` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clear_stale(path)
    temp = _temp_name(path)
    temp.mkdir()
    try:
        yield temp
    except BaseException:
        _remove(temp)
        raise
    old = path.with_name(f".{path.name}.old")
    if path.exists() or path.is_symlink():
        os.replace(path, old)
    os.replace(temp, path)
    _remove(old)


@contextlib.contextmanager
def atomic_file(path: Path | str) -> Iterator[Path]:
    """Yield a temporary file name; on success it replaces `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clear_stale(path)
    temp = _temp_name(path)
    try:
        yield temp
    except BaseException:
        _remove(temp)
        raise
    os.replace(temp, path)


def write_bytes(path: Path | str, data: bytes, *, durable: bool = False) -> None:
    """Write `data` to `path` whole or not at all.

    durable: fsync the file and its folder too, so the rename survives a power cut,
    not only a killed process (the scraper's pictures, written one at a time).
    """
    path = Path(path)
    with atomic_file(path) as temp, open(temp, "wb") as f:
        f.write(data)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    if durable:
        fsync_dir(path.parent)


def fsync_dir(folder: Path | str) -> None:
    """Make the renames and creations in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json(path: Path | str, data) -> None:
    with atomic_file(path) as temp:
        temp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
