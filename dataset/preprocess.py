"""The preprocess stage: the merged pictures as model-ready arrays, and the data report.

Output (data/prepared/, replaced as a whole only when complete):
- {train,val,test}.x.npy: the pixels, (N, S, S, 3) uint8 RGB, a plain .npy that
  training reads (or memory-maps) at disk speed and that the workers fill in place.
- {train,val,test}.npz: y (N,) uint8 with 1 = real and 0 = ai, source (N,) str
  ("cifake" | "scraped", or "smote" for synthetic training rows), id (N,) str.
- meta.json: image_size, balance, class_weight (with balance: class_weights), counts,
  seed, val_fraction.
Plus reports/dataset.json (counts, duplicates, skipped; a DVC metric) and
reports/images/samples.png (a few training pictures per class).

Every picture's pixels are `imaging.load_image(bytes, S)`: the 32x32 ones are resized
from merge's decoded store with `imaging.resize_images` (resize_image on each), which
is the same thing (see decode.same_as_load_image), the others are decoded from their
file again.

Validation is carved from train (seeded, stratified by source and label); balancing
(oversample / smote) touches the training split only, after the split.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from dataset import merge as merged
from dataset.atomic import atomic_dir, atomic_file, write_json
from dataset.balance import balance_training, rewrite_pixels
from dataset.decode import load_all
from dataset.errors import DatasetError
from dataset.prepared import LABELS, META_FILE, SPLITS, X_FILE
from dataset.prepared import PREPARED as OUT

REPORT = Path("reports/dataset.json")
SAMPLES = Path("reports/images/samples.png")
COLUMNS = [
    "id",
    "source",
    "split",
    "label",
    "keep",
    "row",
    "path",
    "member",
    "format",
    "width",
    "height",
]


def preprocess(
    image_size: int,
    val_fraction: float,
    balance: str,
    seed: int,
    *,
    merged_dir: Path | str = merged.OUT,
    out: Path | str = OUT,
    report: Path | str | None = REPORT,
    samples: Path | str | None = SAMPLES,
    n_workers: int | None = None,
) -> dict:
    merged_dir = Path(merged_dir)
    frame = merged.load_manifest(merged_dir, COLUMNS)
    summary = _read_json(merged_dir / merged.SUMMARY)
    frame = frame[frame["keep"]].reset_index(drop=True)
    if frame.empty:
        raise DatasetError(f"{merged_dir}: no pictures left to prepare")
    rng = np.random.default_rng(seed)
    index = _split(frame, val_fraction, rng)
    for name in ("train", "test"):
        if not len(index[name]):
            raise DatasetError(f"no pictures in the {name} split")
    order = np.concatenate([index[s] for s in SPLITS])
    bounds = np.cumsum([0] + [len(index[s]) for s in SPLITS])

    with atomic_dir(out) as temp:
        x_paths = {name: temp / f"{name}{X_FILE}" for name in SPLITS}
        for name in SPLITS:
            np.lib.format.open_memmap(
                x_paths[name], "w+", np.uint8, (len(index[name]), image_size, image_size, 3)
            ).flush()
        chosen = frame.iloc[order]  # column lists: a quarter of itertuples' time
        items = list(
            zip(
                chosen["row"].tolist(),
                chosen["path"].tolist(),
                [member or None for member in chosen["member"].tolist()],
                chosen["format"].tolist(),
                chosen["width"].tolist(),
                chosen["height"].tolist(),
                strict=True,
            )
        )
        # The workers write every picture straight into its split's x.npy: nothing is
        # copied afterwards unless a picture failed or the training split is resampled.
        _, reasons = load_all(
            items,
            image_size,
            store_path=merged_dir / merged.PIXELS,
            outputs=[(x_paths[name], len(index[name])) for name in SPLITS],
            n_workers=n_workers,
            desc="preprocess: resize",
        )
        failed = Counter(r for r in reasons if r)
        ok = np.array([r is None for r in reasons], dtype=bool)
        labels, sources = frame["label"].to_numpy(np.uint8), frame["source"].to_numpy(str)
        ids = frame["id"].to_numpy(str)
        columns = {}
        for k, name in enumerate(SPLITS):
            part = slice(bounds[k], bounds[k + 1])
            keep = ok[part]
            if not keep.all():
                rewrite_pixels(x_paths[name], np.flatnonzero(keep))
            rows = order[part][keep]
            columns[name] = [labels[rows], sources[rows], ids[rows]]
        y_first = columns["train"][0]  # the training split before any resampling
        weights, added = balance_training(balance, columns, x_paths["train"], rng, seed)
        for name, (y, src, names) in columns.items():
            np.savez(temp / f"{name}.npz", y=y, source=src, id=names)
        counts = {name: _count(y, src) for name, (y, src, _) in columns.items()}
        meta = {
            "image_size": image_size,
            "balance": balance,
            "class_weight": {str(k): v for k, v in weights.items()} if weights else None,
            "counts": counts,
            "seed": seed,
            "val_fraction": val_fraction,
            "resampled": added,
        }
        write_json(temp / META_FILE, meta)
        positions = np.arange(len(y_first))
        sample_rows = {label: _pick(positions[y_first == label], rng) for label in (0, 1)}
        grid = _grid(np.load(x_paths["train"], mmap_mode="r"), sample_rows)

    result = _report(summary, counts, failed, balance, added, weights, image_size)
    if report:
        write_json(report, result)
    if samples:
        with atomic_file(samples) as temp_png:
            Image.fromarray(grid).save(temp_png, format="PNG")
    return result


def _split(frame: pd.DataFrame, val_fraction: float, rng: np.random.Generator) -> dict:
    """Row indices per split: test as merged, val carved from train per (source, label)."""
    test = np.flatnonzero(frame["split"].to_numpy() == "test")
    train_rows = np.flatnonzero(frame["split"].to_numpy() == "train")
    keys = frame["source"].to_numpy(str)[train_rows], frame["label"].to_numpy()[train_rows]
    val = []
    for source in sorted(set(keys[0])):
        for label in (0, 1):
            group = train_rows[(keys[0] == source) & (keys[1] == label)]  # in id order
            take = int(round(val_fraction * len(group)))
            val.append(np.sort(rng.permutation(group)[:take]))
    val = np.sort(np.concatenate(val)) if val else np.empty(0, dtype=np.int64)
    train = np.setdiff1d(train_rows, val, assume_unique=True)
    return {"train": train, "val": val, "test": test}


def _count(y: np.ndarray, source: np.ndarray) -> dict:
    table = {}
    for src in sorted(set(source.tolist())):
        labels = y[source == src]
        table[src] = {LABELS[k]: int((labels == k).sum()) for k in (0, 1)}
    return table


def _pick(rows: np.ndarray, rng: np.random.Generator, n: int = 8) -> np.ndarray:
    return np.sort(rng.permutation(rows)[:n]) if len(rows) else rows


def _grid(pixels, sample_rows: dict, scale: int = 3, gap: int = 4, columns: int = 8) -> np.ndarray:
    """One row of sample training pictures per class (ai above, real below), labelled."""
    size = pixels.shape[1] * scale
    label_width = 40
    canvas = Image.new(
        "RGB", (label_width + columns * (size + gap) + gap, 2 * (size + gap) + gap), "white"
    )
    draw = ImageDraw.Draw(canvas)
    for line, label in enumerate((0, 1)):
        top = gap + line * (size + gap)
        draw.text((4, top + size // 2 - 6), LABELS[label], fill="black")
        for k, row in enumerate(sample_rows[label][:columns]):
            picture = Image.fromarray(np.asarray(pixels[int(row)]))
            picture = picture.resize((size, size), Image.NEAREST)
            canvas.paste(picture, (label_width + k * (size + gap), top))
    return np.asarray(canvas)


def _report(summary, counts, failed, balance, added, weights, image_size) -> dict:
    skipped = summary.get("skipped", {})
    if failed:
        skipped = {**skipped, "preprocess": dict(sorted(failed.items()))}
    return {
        "image_size": image_size,
        "counts": counts,
        "total": {s: sum(sum(v.values()) for v in counts[s].values()) for s in SPLITS},
        "duplicates_removed": summary.get("duplicates_removed", {}),
        "skipped": skipped,
        "balance": balance,
        "resampled": added,
        "class_weight": {LABELS[k]: v for k, v in weights.items()} if weights else {},
    }


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
