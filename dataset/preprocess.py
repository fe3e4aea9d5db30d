"""The preprocess stage: the merged pictures as model-ready arrays, and the data report.

Output (data/prepared/, replaced as a whole only when complete):
- {train,val,test}.npz, uncompressed: x (N, S, S, 3) uint8 RGB, y (N,) uint8 with
  1 = real and 0 = ai, source (N,) str ("cifake" | "scraped", or "smote" for
  synthetic training rows), id (N,) str.
- meta.json: image_size, balance, class_weight (with balance: class_weights), counts,
  seed, val_fraction.
Plus reports/dataset.json (counts, duplicates, skipped; a DVC metric) and
reports/images/samples.png (a few training pictures per class).

Every picture's pixels are `imaging.load_image(bytes, S)`: the 32x32 ones are resized
from merge's decoded store with `imaging.resize_image`, which is the same thing (see
decode.same_as_load_image), the others are decoded from their file again.

Validation is carved from train (seeded, stratified by source and label); balancing
(oversample / smote) touches the training split only, after the split.
"""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from dataset import merge as merged
from dataset.atomic import atomic_dir, atomic_file, write_json
from dataset.decode import load_all
from dataset.errors import DatasetError

OUT = Path("data/prepared")
REPORT = Path("reports/dataset.json")
SAMPLES = Path("reports/images/samples.png")
SPLITS = ("train", "val", "test")
LABELS = {0: "ai", 1: "real"}
SMOTE_BASE = 4000  # minority pictures SMOTE draws neighbours from (its cost is quadratic)
WRITE_CHUNK = 8192


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
    frame = merged.load_manifest(merged_dir)
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
        scratch = temp / "pixels.npy"
        np.lib.format.open_memmap(
            scratch, mode="w+", dtype=np.uint8, shape=(len(order), image_size, image_size, 3)
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
        _, reasons = load_all(
            items,
            image_size,
            store_path=merged_dir / merged.PIXELS,
            out_path=scratch,
            n_workers=n_workers,
        )
        pixels = np.load(scratch, mmap_mode="r")
        failed = Counter(r for r in reasons if r)
        ok = np.array([r is None for r in reasons], dtype=bool)
        y_all = frame["label"].to_numpy(np.uint8)[order]
        src_all = frame["source"].to_numpy(str)[order]
        id_all = frame["id"].to_numpy(str)[order]
        parts = {}
        for k, name in enumerate(SPLITS):
            rows = np.arange(bounds[k], bounds[k + 1])
            parts[name] = rows[ok[rows]]
        weights, added = None, {}
        train = parts["train"]
        x_extra = None
        y_train, src_train, id_train = y_all[train], src_all[train], id_all[train]
        if balance == "class_weights":
            weights = _class_weights(y_train)
        elif balance == "oversample":
            extra = _oversample(y_train, rng)
            added = dict(Counter(LABELS[int(v)] for v in y_train[extra]))
            train = np.concatenate([train, train[extra]])
            y_train, src_train = y_all[train], src_all[train]
            copies = [f"{i}#copy{n}" for n, i in enumerate(id_all[parts["train"]][extra], 1)]
            id_train = np.concatenate([id_all[parts["train"]], np.array(copies, dtype=str)])
        elif balance == "smote":
            x_extra, y_extra = _smote(pixels, train, y_train, seed)
            added = dict(Counter(LABELS[int(v)] for v in y_extra))
            y_train = np.concatenate([y_train, y_extra])
            src_train = np.concatenate([src_train, np.full(len(y_extra), "smote")])
            synthetic = np.array([f"smote/{n}" for n in range(len(y_extra))], dtype=str)
            id_train = np.concatenate([id_train, synthetic])
        columns = {
            "train": (train, y_train, src_train, id_train, x_extra),
            "val": (
                parts["val"],
                y_all[parts["val"]],
                src_all[parts["val"]],
                id_all[parts["val"]],
                None,
            ),
            "test": (
                parts["test"],
                y_all[parts["test"]],
                src_all[parts["test"]],
                id_all[parts["test"]],
                None,
            ),
        }
        for name, (rows, y, src, ids, extra) in columns.items():
            _save_npz(temp / f"{name}.npz", pixels, rows, extra, y, src, ids)
        counts = {name: _count(columns[name][1], columns[name][2]) for name in SPLITS}
        meta = {
            "image_size": image_size,
            "balance": balance,
            "class_weight": {str(k): v for k, v in weights.items()} if weights else None,
            "counts": counts,
            "seed": seed,
            "val_fraction": val_fraction,
            "resampled": added,
        }
        write_json(temp / "meta.json", meta)
        first = parts["train"]
        sample_rows = {label: _pick(first[y_all[first] == label], rng) for label in (0, 1)}
        grid = _grid(pixels, sample_rows)
        del pixels
        scratch.unlink()

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


def _class_weights(y: np.ndarray) -> dict[int, float]:
    n = len(y)
    return {k: round(n / (2 * max(int((y == k).sum()), 1)), 6) for k in (0, 1)}


def _oversample(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions (into y) to repeat so both classes count the same."""
    n = [int((y == k).sum()) for k in (0, 1)]
    minority = int(np.argmin(n))
    need = max(n) - min(n)
    if not need or not n[minority]:
        return np.empty(0, dtype=np.int64)
    return np.sort(rng.choice(np.flatnonzero(y == minority), size=need, replace=True))


def _smote(pixels, train: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """New minority pictures by imbalanced-learn's SMOTE on flattened pixels, as uint8.

    SMOTE finds neighbours among all minority samples (quadratic cost), so it draws
    them from a seeded sample of at most SMOTE_BASE minority pictures.
    """
    from imblearn.over_sampling import SMOTE

    n = [int((y == k).sum()) for k in (0, 1)]
    minority, majority = int(np.argmin(n)), int(np.argmax(n))
    need = max(n) - min(n)
    shape = pixels.shape[1:]
    if not need or n[minority] < 2:
        return np.empty((0, *shape), np.uint8), np.empty(0, np.uint8)
    rng = np.random.default_rng(seed)
    base = np.flatnonzero(y == minority)
    base = np.sort(rng.permutation(base)[:SMOTE_BASE])
    other = np.flatnonzero(y == majority)[:1]
    rows = np.concatenate([base, other])
    x = pixels[train[rows]]
    x = x.reshape(len(rows), -1).astype(np.float32)
    labels = y[rows]
    smote = SMOTE(
        sampling_strategy={minority: len(base) + need},
        k_neighbors=min(5, len(base) - 1),
        random_state=seed,
    )
    x_new, _ = smote.fit_resample(x, labels)
    synthetic = x_new[len(rows) :]
    out = np.clip(np.rint(synthetic), 0, 255).astype(np.uint8).reshape(-1, *shape)
    return out, np.full(len(out), minority, dtype=np.uint8)


def _save_npz(path: Path, pixels, rows, extra, y, source, ids) -> None:
    """np.savez (uncompressed) streamed: x is written in chunks, never held whole."""
    n = len(rows) + (0 if extra is None else len(extra))
    shape = (n, *pixels.shape[1:])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        with archive.open("x.npy", "w", force_zip64=True) as f:
            header = {"descr": "|u1", "fortran_order": False, "shape": shape}
            np.lib.format.write_array_header_2_0(f, header)
            for start in range(0, len(rows), WRITE_CHUNK):
                part = rows[start : start + WRITE_CHUNK]
                f.write(np.ascontiguousarray(pixels[part]).tobytes())
            if extra is not None and len(extra):
                f.write(np.ascontiguousarray(extra).tobytes())
        for name, values in (("y", np.asarray(y, np.uint8)), ("source", source), ("id", ids)):
            with archive.open(f"{name}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asarray(values), allow_pickle=False)


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
