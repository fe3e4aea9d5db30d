"""Training curves from the dvclive files the train stages commit:
reports/<stage>/plots/metrics/[<run>/]<split>/<metric>.tsv (step, value), e.g.
train/train/loss.tsv, or <stage>/seed1/val/auc.tsv for a stage with one run per seed.
A curve's series is its folder path ("val", "seed1 val"). Only the stages that train
by epochs today are read (STAGES, as model/plots.py's TRAINING): a folder left by a
stage that no longer does (train_web's patch-era seeds) is not shown as the model's.
No Streamlit here."""

from __future__ import annotations

import csv
from pathlib import Path

MAX_ROWS = 10_000  # steps read per file
MAX_FILES = 200  # files read per stage
STAGES = {"train": "Small pictures (the whole view)"}  # stage: title; = model.plots.TRAINING


def training_curves(reports: Path, stages=STAGES) -> dict[str, dict[str, list[dict]]]:
    """{stage: {metric: [{step, value, split}]}} for each of `stages` with dvclive
    plots; unreadable files and rows are skipped (so are the files beside the splits,
    such as images_per_second.tsv)."""
    curves: dict[str, dict[str, list[dict]]] = {}
    for stage in stages:
        folder = Path(reports) / stage / "plots" / "metrics"
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.tsv"))[:MAX_FILES]:
            parts = path.relative_to(folder).parts[:-1]
            if not parts:
                continue
            split, metric = " ".join(parts), path.stem
            rows = read_tsv(path, split)
            if rows:
                curves.setdefault(stage, {}).setdefault(metric, []).extend(rows)
    return curves


def read_tsv(path: Path, split: str) -> list[dict]:
    try:
        with open(path, newline="") as f:
            reader = csv.reader(f, delimiter="\t")
            header = next(reader, None)
            if not header or len(header) < 2 or header[0] != "step":
                return []
            rows = []
            for k, row in enumerate(reader):
                if k >= MAX_ROWS:
                    break
                try:
                    rows.append({"step": int(row[0]), "value": float(row[1]), "split": split})
                except (ValueError, IndexError):
                    continue
            return rows
    except OSError:
        return []
