"""Training curves from the dvclive files the train stages commit:
reports/<stage>/plots/metrics/[<run>/]<split>/<metric>.tsv (step, value), e.g.
train/train/loss.tsv, or train_web/seed1/val/auc.tsv for the web stage's seeds. A
curve's series is its folder path ("val", "seed1 val"). No Streamlit here."""

from __future__ import annotations

import csv
from pathlib import Path

MAX_ROWS = 10_000  # steps read per file
MAX_FILES = 200  # files read per stage


def training_curves(reports: Path) -> dict[str, dict[str, list[dict]]]:
    """{stage: {metric: [{step, value, split}]}} for every stage with dvclive plots;
    unreadable files and rows are skipped (so are the files beside the splits, such
    as images_per_second.tsv)."""
    curves: dict[str, dict[str, list[dict]]] = {}
    for folder in sorted(Path(reports).glob("*/plots/metrics")):
        stage = folder.parent.parent.name
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
