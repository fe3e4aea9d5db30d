"""The scraped keyword folders, data/scraped/<keyword>/, read defensively.

Each folder holds the downloaded files and manifest.jsonl, one JSON object per
picture (query, label, sha256, pixel_sha256, phash, width, height, format, ...).
The file is the manifest's "file" (or "path") name inside the folder when given,
else `<sha256[:16]>.<ext>` from its format. The label is the keyword's group in
params (`scrape.keywords.<name>.label`), the same everywhere: 1 = real, 0 = ai.
Lines that cannot be used are counted with their reason, never fatal.

A scraped picture's split comes from its file's sha256 alone, so adding pictures
never moves one already placed.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from dataset.errors import DatasetError

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
        try:
            record = json.loads(line)
        except ValueError:
            skipped["unreadable manifest line"] += 1
            continue
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
