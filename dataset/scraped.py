"""The scraped keyword folders, data/scraped/<keyword>/: the one owner of their format.

The scraper writes them (`reconcile` on start, `append_record` after each picture);
the merge stage reads them (`read_keywords`). Each folder holds the downloaded
files and manifest.jsonl, one JSON object per picture (query, label, sha256,
pixel_sha256, phash, width, height, format, url_source, page_url, ...).
The file is the manifest's "file" (or "path") name inside the folder when given,
else `<sha256[:16]>.<ext>` from its format. The label is the keyword's group in
params (`scrape.keywords.<name>.label`), the same everywhere: 1 = real, 0 = ai.
Lines that cannot be used are counted with their reason, never fatal.

A scraped picture's split comes from its file's sha256 alone, so adding pictures
never moves one already placed.

Writing: a picture is written under a temporary name and renamed into place
(dataset.atomic) before its manifest line is appended, so after a crash (or
SIGKILL) `reconcile` only has to drop what no line describes. A line cut short (a
kill or a full disk mid-append) is undone by the append itself when it can, and by
`reconcile` in any case: it rewrites the manifest (atomically) whenever its bytes
are not exactly the kept records' lines, so no record is ever appended onto a torn
line, where the next resume would lose it and delete its picture as a stray.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from dataset.atomic import is_temporary, write_bytes
from dataset.errors import DatasetError
from dataset.hashing import file_sha256

ROOT = Path("data/scraped")
MANIFEST = "manifest.jsonl"
EXTENSIONS = {
    "JPEG": ("jpg", "jpeg"),
    "PNG": ("png",),
    "WEBP": ("webp",),
    "GIF": ("gif",),
    "BMP": ("bmp",),
    "TIFF": ("tif", "tiff"),
}
LABELS = {"real": 1, "ai": 0}
# What the scraper names a file: the first 16 hex digits of its sha256, the format's
# usual extension.
SAVED_NAME = re.compile(r"^[0-9a-f]{16}\.(jpg|png|webp|gif|bmp|tif)$")
LEGACY_TEMP_SUFFIX = ".part"  # the scraper's temporaries before dataset.atomic wrote them


def saved_name(sha256: str, fmt: str) -> str:
    return f"{sha256[:16]}.{EXTENSIONS[fmt][0]}"


@dataclass(frozen=True)
class Entry:
    keyword: str
    path: Path
    label: int
    listed_sha256: str


def stable_split(sha256: str, test_fraction: float) -> str:
    """'test' or 'train' from the picture's sha256 only (stable as the set grows)."""
    return "test" if int(sha256[:8], 16) / 2**32 < test_fraction else "train"


def read_keywords(labels: dict[str, str], root: Path | str = ROOT) -> tuple[list[Entry], Counter]:
    """Entries of every keyword folder (keyword -> "ai" | "real"), and the skipped by reason."""
    root = Path(root)
    entries: list[Entry] = []
    skipped: Counter = Counter()
    for keyword in sorted(labels):
        folder = root / keyword
        if not folder.is_dir():
            raise DatasetError(
                f"{folder} not found: run its scrape stage first (dvc repro scrape@{keyword}), "
                f"or remove '{keyword}' from scrape.keywords"
            )
        found, why = read_folder(folder, keyword, LABELS[labels[keyword]])
        entries += found
        skipped.update(why)
    return entries, skipped


def read_folder(folder: Path, keyword: str, label: int) -> tuple[list[Entry], Counter]:
    skipped: Counter = Counter()
    manifest = folder / MANIFEST
    if not manifest.is_file():
        # A keyword whose search found nothing may leave no manifest: no pictures.
        return [], skipped
    entries, seen = [], set()
    for line in manifest.read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        record = _parsed(line)
        if not isinstance(record, dict):
            skipped["unreadable manifest line"] += 1
            continue
        sha = record.get("sha256")
        sha = sha.lower() if isinstance(sha, str) else ""
        path = _file_of(folder, record, sha)
        if path is None:
            skipped["file listed in manifest is missing"] += 1
        elif path in seen:
            skipped["listed twice in manifest"] += 1
        else:
            seen.add(path)
            entries.append(Entry(keyword, path, label, sha))
    return entries, skipped


def _file_of(folder: Path, record: dict, sha: str) -> Path | None:
    for key in ("file", "path", "filename"):
        name = record.get(key)
        if isinstance(name, str) and name:
            # Only a name inside this folder: never follow a path out of it.
            candidate = folder / Path(name).name
            if candidate.is_file() and not candidate.is_symlink():
                return candidate
    if len(sha) < 16:
        return None
    fmt = str(record.get("format") or "").upper()
    for ext in EXTENSIONS.get(fmt, ()):
        candidate = folder / f"{sha[:16]}.{ext}"
        if candidate.is_file():
            return candidate
    matches = sorted(p for p in folder.glob(f"{sha[:16]}.*") if p.is_file() and not p.is_symlink())
    return matches[0] if matches else None


# --- the scraper's side: resume, append ---


def _parsed(line: str):
    """A manifest line's JSON value, None when it is not JSON: torn, garbage, or nested
    too deep for the parser (`[[[…`, a RecursionError)."""
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None


def read_manifest(folder: Path | str) -> list[dict]:
    """The manifest's records that name a file; a torn last line (a killed append) is ignored."""
    path = Path(folder) / MANIFEST
    records = []
    if not path.is_file():
        return records
    for line in path.read_text(errors="replace").splitlines():
        record = _parsed(line)
        if isinstance(record, dict) and isinstance(record.get("file"), str):
            records.append(record)
    return records


def reconcile(
    folder: Path | str, query: str, label: str, limit: int | None = None
) -> tuple[list[dict], int]:
    """Make folder and manifest agree, for this query and label only.

    Drops records whose file is missing or altered and records of another query or
    label (their files too: the stage's output must reflect the current keyword),
    deletes temporary files and picture files no record describes, and keeps at
    most `limit` records. Returns (records kept, records dropped).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    records = read_manifest(folder)
    kept, names = [], set()
    for record in records:
        if _still_valid(folder, record, query, label, names) and (
            limit is None or len(kept) < limit
        ):
            kept.append(record)
            names.add(record["file"])
    _remove_strays(folder, names)
    wanted = b"".join(map(manifest_line, kept))
    if _bytes_or_none(folder / MANIFEST) != wanted:  # a torn or dropped line: repair first
        write_bytes(folder / MANIFEST, wanted, durable=True)
    return kept, len(records) - len(kept)


def _bytes_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _still_valid(folder: Path, record: dict, query: str, label: str, names: set) -> bool:
    name = record["file"]
    path = folder / name
    return (
        record.get("query") == query
        and record.get("label") == label
        and name not in names
        and bool(SAVED_NAME.match(name))
        and path.is_file()
        and file_sha256(path.read_bytes()) == record.get("sha256")
    )


def _remove_strays(folder: Path, names: set) -> None:
    for path in folder.iterdir():
        temporary = is_temporary(path.name) or path.name.endswith(LEGACY_TEMP_SUFFIX)
        orphan = SAVED_NAME.match(path.name) and path.name not in names
        if (temporary or orphan) and path.is_file():
            path.unlink()


def manifest_line(record: dict) -> bytes:
    return (json.dumps(record, sort_keys=False) + "\n").encode()


def append_record(folder: Path | str, record: dict) -> None:
    """Append one record, synced: its file is already in place (see the module's docstring).

    A write that fails part way (a full disk, a file size limit) is undone by cutting
    the manifest back to its length before, in one ftruncate, and raises DatasetError
    in one line; should the cut fail too, the next `reconcile` repairs the manifest."""
    path = Path(folder) / MANIFEST
    line = manifest_line(record)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        before = os.lseek(fd, 0, os.SEEK_END)
        try:
            written = 0
            while written < len(line):
                written += os.write(fd, line[written:])
            os.fsync(fd)
        except OSError as e:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, before)
            raise DatasetError(
                f"cannot add a line to {path} ({e.strerror or type(e).__name__})"
            ) from None
    finally:
        os.close(fd)
