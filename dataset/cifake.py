"""The CIFAKE data set: fetch or find it, check it, keep it as one archive.

The source (params `cifake.source`) is "kaggle" (kagglehub download), a zip archive
as Kaggle hands it out, or an extracted folder. Either way the stage's output is one
checked archive, data/cifake/cifake.zip, with members named exactly
`{train,test}/{REAL,FAKE}/<file>`, and data/cifake/info.json (counts, the source's
sha256, what was skipped and why). Later stages read pictures straight from that
archive: 120,000 small files are never extracted to disk.

The archive is third-party data, so its table of contents is checked before any
member is read: unsafe names (absolute, `..`, backslashes) and members outside the
layout are skipped with their reason, oversized or implausibly compressed members
(zip bombs) are skipped, and an archive too large overall is refused.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath

from dataset.atomic import atomic_dir, write_json
from dataset.errors import DatasetError
from settings.errors import first_line
from settings.progress import bar

OUT = Path("data/cifake")
ARCHIVE = "cifake.zip"
INFO = "info.json"
SPLITS = ("train", "test")
CLASSES = {"REAL": 1, "FAKE": 0}  # the project's labels: 1 = real, 0 = ai
EXTENSIONS = (".jpg", ".jpeg", ".png")
PUBLISHED = {"train": 50_000, "test": 10_000}  # pictures per class in the Kaggle release
MAX_MEMBER_BYTES = 1_000_000  # CIFAKE pictures are ~1 KB (32x32 JPEG)
MAX_RATIO = 100  # uncompressed / compressed size of one member
MAX_TOTAL_BYTES = 4_000_000_000
MAX_MEMBERS = 2_000_000
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # packed archives are byte-identical run to run
HINT = (
    "set cifake.source (params.yaml, or a PARAMS_OVERLAY file such as params.offline.yaml) "
    "to the path of cifake.zip or of an extracted folder with train/ and test/, "
    "each holding REAL/ and FAKE/"
)
_NAME = re.compile(r"^(train|test)/(REAL|FAKE)/([^/]+)$")


def split_and_label(name: str) -> tuple[str, int] | None:
    """(split, label) of a member name in the checked layout, else None."""
    match = _NAME.match(name)
    if not match or not name.lower().endswith(EXTENSIONS):
        return None
    return match.group(1), CLASSES[match.group(2)]


def prepare(source: str, kaggle_handle: str, out: Path | str = OUT) -> dict:
    """Find, check and store CIFAKE under `out`; returns the info written to info.json."""
    out = Path(out)
    if source.strip().lower() == "kaggle":
        path, origin = _download(kaggle_handle), f"kaggle:{kaggle_handle}"
    else:
        path, origin = Path(source).expanduser(), source
        if not path.exists():
            raise DatasetError(f"cifake.source {source!r} does not exist; {HINT}")
    with atomic_dir(out) as temp:
        target = temp / ARCHIVE
        if path.is_dir():
            counts, skipped = _pack_folder(path, target)
            repacked = True
        else:
            counts, skipped, repacked = _check_archive(path, target)
        archive_sha256 = file_sha256(target)
        info = {
            "source": origin,
            # a folder's content is identified by the archive packed from it
            "source_sha256": file_sha256(path) if repacked and path.is_file() else archive_sha256,
            "archive_sha256": archive_sha256,
            "repacked": repacked,
            "counts": counts,
            "pictures": sum(n for per in counts.values() for n in per.values()),
            "complete": all(counts[s][c] == PUBLISHED[s] for s in SPLITS for c in CLASSES),
            "skipped": dict(sorted(skipped.items())),
        }
        write_json(temp / INFO, info)
    return info


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _download(handle: str) -> Path:
    try:
        import kagglehub

        return Path(kagglehub.dataset_download(handle))
    except Exception as e:  # noqa: BLE001 - network, auth, quota: all mean "no download"
        reason = first_line(e)
        raise DatasetError(
            f"cannot download {handle} with kagglehub ({type(e).__name__}: {reason}); "
            f"offline? {HINT}"
        ) from None


# --- a zip archive ---


def open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise DatasetError(f"{path} is not a readable zip archive ({e}); {HINT}") from None
    except OSError as e:
        raise DatasetError(f"{path}: cannot read ({e.strerror})") from None


def check_members(
    infos: list[zipfile.ZipInfo],
) -> tuple[list[tuple[zipfile.ZipInfo, str]], Counter]:
    """The members to keep, as (info, canonical name), and the skipped ones by reason."""
    if len(infos) > MAX_MEMBERS:
        raise DatasetError(f"archive lists {len(infos):,} members (more than {MAX_MEMBERS:,})")
    declared = sum(i.file_size for i in infos)
    if declared > MAX_TOTAL_BYTES:
        raise DatasetError(
            f"archive would expand to {declared:,} bytes (over {MAX_TOTAL_BYTES:,}; "
            "possible zip bomb)"
        )
    files = [i for i in infos if not i.is_dir()]
    prefix = _wrapper_prefix([i.filename for i in files])
    kept, seen, skipped = [], set(), Counter()
    for info in files:
        name = info.filename
        if _unsafe(name):
            skipped["unsafe member name"] += 1
            continue
        name = name[len(prefix) :]
        if split_and_label(name) is None:
            skipped["unexpected member (not {train,test}/{REAL,FAKE}/*.jpg)"] += 1
        elif info.file_size > MAX_MEMBER_BYTES:
            skipped[f"member over {MAX_MEMBER_BYTES:,} bytes (possible zip bomb)"] += 1
        elif info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > 65536:
            skipped["implausible compression ratio (possible zip bomb)"] += 1
        elif name in seen:
            skipped["duplicate member name"] += 1
        else:
            seen.add(name)
            kept.append((info, name))
    return kept, skipped


def _unsafe(name: str) -> bool:
    path = PurePosixPath(name)
    return (
        name.startswith(("/", "\\"))
        or "\\" in name
        or "\x00" in name
        or ".." in path.parts
        or bool(re.match(r"^[A-Za-z]:", name))
    )


def _wrapper_prefix(names: list[str]) -> str:
    """'cifake/' when every member sits in one folder above train/ and test/, else ''."""
    firsts = {n.split("/", 1)[0] for n in names if "/" in n}
    if len(firsts) == 1 and not firsts & set(SPLITS):
        (first,) = firsts
        if all(n.startswith(first + "/") for n in names):
            return first + "/"
    return ""


def _check_archive(path: Path, target: Path) -> tuple[dict, Counter, bool]:
    with open_zip(path) as archive:
        kept, skipped = check_members(archive.infolist())
        counts = _count([name for _, name in kept])
        _check_counts(counts, path)
        canonical = not skipped and all(info.filename == name for info, name in kept)
        if canonical:
            # Already exactly the layout: keep the archive as it is (bytes unchanged).
            shutil.copyfile(path, target)
            return counts, skipped, False
        with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as out:
            members = sorted(kept, key=lambda item: item[1])
            for info, name in bar(members, desc="cifake: repack"):
                try:
                    data = archive.read(info)
                except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
                    skipped[f"unreadable member ({type(e).__name__})"] += 1
                    split, label = split_and_label(name)
                    counts[split][_class_name(label)] -= 1
                    continue
                out.writestr(zipfile.ZipInfo(name, FIXED_TIME), data)
    _check_counts(counts, path)  # again: unreadable members may have emptied a class
    return counts, skipped, True


def _count(names: list[str]) -> dict:
    counts = {split: dict.fromkeys(CLASSES, 0) for split in SPLITS}
    for name in names:
        split, label = split_and_label(name)
        counts[split][_class_name(label)] += 1
    return counts


def _class_name(label: int) -> str:
    return "REAL" if label == 1 else "FAKE"


def _check_counts(counts: dict, path: Path) -> None:
    empty = [f"{s}/{c}" for s in SPLITS for c in CLASSES if counts[s][c] == 0]
    if empty:
        raise DatasetError(
            f"{path}: wrong layout, no pictures in {', '.join(empty)} "
            "(expected train/ and test/, each holding REAL/ and FAKE/ with .jpg files)"
        )


# --- an extracted folder (or a kagglehub download) ---


def _pack_folder(root: Path, target: Path) -> tuple[dict, Counter]:
    root = _find_root(root)
    skipped: Counter = Counter()
    names: list[tuple[Path, str]] = []
    for split in SPLITS:
        for cls in CLASSES:
            folder = root / split / cls
            if not folder.is_dir():
                continue
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                name = f"{split}/{cls}/{entry.name}"
                if entry.is_symlink():
                    skipped["symbolic link"] += 1
                elif not entry.is_file() or split_and_label(name) is None:
                    skipped["unexpected member (not {train,test}/{REAL,FAKE}/*.jpg)"] += 1
                elif entry.stat().st_size > MAX_MEMBER_BYTES:
                    skipped[f"member over {MAX_MEMBER_BYTES:,} bytes (possible zip bomb)"] += 1
                else:
                    names.append((Path(entry.path), name))
    counts = _count([name for _, name in names])
    _check_counts(counts, root)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as out:
        for file, name in bar(names, desc="cifake: pack"):
            out.writestr(zipfile.ZipInfo(name, FIXED_TIME), file.read_bytes())
    return counts, skipped


def _find_root(folder: Path) -> Path:
    """The folder holding train/ and test/: `folder` itself or its only subfolder."""
    if any((folder / s).is_dir() for s in SPLITS):
        return folder
    subfolders = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if len(subfolders) == 1 and any((subfolders[0] / s).is_dir() for s in SPLITS):
        return subfolders[0]
    return folder
