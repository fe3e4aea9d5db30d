"""The merge stage: CIFAKE and the scraped pictures in one manifest, duplicates marked.

Output (data/merged/):
- manifest.parquet: one row per decodable picture: id, source (cifake | scraped),
  keyword, split (the original one: CIFAKE's own, scraped from the hash), label
  (1 = real, 0 = ai), path + member (archive member, or "" for a file), sha256 of the
  file, pixel_sha256, phash, width, height, format, row (its row in pixels.npy, -1 if
  not stored), keep, duplicate_kind (exact | near), duplicate_of (id), distance.
- pixels.npy: (rows, 32, 32, 3) uint8, the decoded pixels of every 32x32 picture, so
  preprocess resizes them without decoding again. Rows of other pictures stay zero.
- summary.json: counts for the report: pictures per source, skipped by reason,
  duplicates removed by kind.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from dataset import cifake, dedup, scraped
from dataset.atomic import atomic_dir, write_json
from dataset.decode import STORE_SIDE, fingerprint_all
from dataset.errors import DatasetError
from settings.progress import bar

OUT = Path("data/merged")
MANIFEST = "manifest.parquet"
PIXELS = "pixels.npy"
SUMMARY = "summary.json"


def merge(
    keywords: dict[str, str],
    near_duplicate_distance: int,
    scraped_test_fraction: float,
    *,
    cifake_dir: Path | str = cifake.OUT,
    scraped_root: Path | str = scraped.ROOT,
    out: Path | str = OUT,
    n_workers: int | None = None,
) -> dict:
    """Merge, fingerprint and deduplicate; keywords maps keyword -> "ai" | "real"."""
    cifake_dir = Path(cifake_dir)
    archive = cifake_dir / cifake.ARCHIVE
    if not archive.is_file():
        raise DatasetError(f"{archive} not found; run the cifake stage first (dvc repro cifake)")
    info = _read_info(cifake_dir / cifake.INFO)
    skipped = {"cifake": Counter(), "scraped": Counter()}

    rows: list[dict] = []
    with cifake.open_zip(archive) as zf:
        for name in zf.namelist():
            if name.endswith("/"):
                continue
            where = cifake.split_and_label(name)
            if where is None:
                skipped["cifake"]["unexpected member (not {train,test}/{REAL,FAKE}/*.jpg)"] += 1
                continue
            split, label = where
            rows.append(
                dict(
                    id=f"cifake/{name}",
                    source="cifake",
                    keyword="",
                    split=split,
                    label=label,
                    path=str(archive),
                    member=name,
                )
            )
    entries, why = scraped.read_keywords(keywords, scraped_root)
    skipped["scraped"].update(why)
    for entry in entries:
        rows.append(
            dict(
                id="",
                source="scraped",
                keyword=entry.keyword,
                split="",
                label=entry.label,
                path=str(entry.path),
                member="",
            )
        )

    with atomic_dir(out) as temp:
        store = temp / PIXELS
        pixels = np.lib.format.open_memmap(
            store, mode="w+", dtype=np.uint8, shape=(len(rows), STORE_SIDE, STORE_SIDE, 3)
        )
        del pixels  # workers write their rows themselves
        items = [(k, row["path"], row["member"] or None) for k, row in enumerate(rows)]
        good = []
        fingerprints = bar(
            fingerprint_all(items, store, n_workers), desc="merge: decode + hash", total=len(items)
        )
        for k, sha, pixel_sha, phash, width, height, fmt, stored, reason in fingerprints:
            row = rows[k]
            if reason is not None:
                skipped[row["source"]][reason] += 1
                continue
            row.update(
                sha256=sha,
                pixel_sha256=pixel_sha,
                phash=phash,
                width=width,
                height=height,
                format=fmt,
                row=k if stored else -1,
            )
            if row["source"] == "scraped":
                row["id"] = f"scraped/{row['keyword']}/{sha[:16]}"
                row["split"] = scraped.stable_split(sha, scraped_test_fraction)
            good.append(row)
        frame = _frame(good)
        frame, listed_twice = _drop_same_file(frame)
        skipped["scraped"]["same file listed twice"] += listed_twice
        decision = dedup.decide(
            frame["id"].tolist(),
            frame["source"].tolist(),
            frame["split"].tolist(),
            frame["pixel_sha256"].tolist(),
            frame["phash"].tolist(),
            near_duplicate_distance,
        )
        ids = frame["id"].to_numpy()
        frame["keep"] = decision.keep
        frame["duplicate_kind"] = decision.kind
        frame["duplicate_of"] = np.where(
            decision.duplicate_of >= 0, ids[np.maximum(decision.duplicate_of, 0)], ""
        )
        frame["distance"] = decision.distance
        frame.to_parquet(temp / MANIFEST, index=False)
        summary = {
            "pictures": _counts(frame),
            "kept": _counts(frame[frame["keep"]]),
            "skipped": {
                s: {k: v for k, v in sorted(c.items()) if v} for s, c in skipped.items() if +c
            },
            "duplicates_removed": decision.counts,
            "near_duplicate_distance": near_duplicate_distance,
            "scraped_test_fraction": scraped_test_fraction,
            "keywords": {k: int((frame["keyword"] == k).sum()) for k in sorted(keywords)},
            "cifake": {k: info.get(k) for k in ("source", "source_sha256", "counts", "skipped")},
        }
        write_json(temp / SUMMARY, summary)
    return summary


COLUMNS = {
    "id": str,
    "source": str,
    "keyword": str,
    "split": str,
    "label": np.uint8,
    "path": str,
    "member": str,
    "sha256": str,
    "pixel_sha256": str,
    "phash": str,
    "width": np.int32,
    "height": np.int32,
    "format": str,
    "row": np.int64,
}


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.astype(COLUMNS).sort_values("id", kind="stable").reset_index(drop=True)


def _drop_same_file(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Two manifest lines naming one picture file of a keyword keep one row."""
    twice = frame["id"].duplicated(keep="first")
    return frame[~twice].reset_index(drop=True), int(twice.sum())


def _counts(frame: pd.DataFrame) -> dict:
    """{split: {source: {"ai": n, "real": n}}}."""
    table: dict = {}
    grouped = frame.groupby(["split", "source", "label"]).size()
    for (split, source, label), n in grouped.items():
        table.setdefault(split, {}).setdefault(source, {"ai": 0, "real": 0})
        table[split][source]["real" if label == 1 else "ai"] = int(n)
    return table


def _read_info(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


# what the web store needs of the manifest (dataset/web.py)
WEB_COLUMNS = [
    "id",
    "source",
    "keyword",
    "split",
    "label",
    "keep",
    "path",
    "format",
    "width",
    "height",
]


def load_manifest(folder: Path | str = OUT, columns: list[str] | None = None) -> pd.DataFrame:
    """The merged manifest, all columns or only `columns` (reading fewer is faster)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise DatasetError(f"{path} not found; run the merge stage first (dvc repro merge)")
    return pd.read_parquet(path, columns=columns)
