"""The pipeline's charts as PNG files, which dvc.yaml declares as image plots.

`dvc plots show` draws its Vega plots with scripts from a CDN, so their page stays
blank offline; an image plot is a plain <img>. Everything here is drawn with
matplotlib's Agg renderer (a Figure saved as PNG: no window, no pyplot state) from
the files the stages already write: the JSON of reports/evaluation/ and
reports/evaluation_web/, and the per-epoch TSV files dvclive writes under
reports/<stage>/plots/metrics/. So the stages and `python -m model.plots` (draw
again from the committed reports) give the same pictures.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from matplotlib.figure import Figure

from dataset.atomic import atomic_file

FIGURES = Path("reports/figures")
DPI = 100
SIZE = (5.0, 4.0)  # inches: 500x400 px, several side by side on DVC's page


# --- one chart each ---


def roc(rows: list[dict], path: Path | str, title: str = "ROC") -> Path:
    """rows: [{fpr, tpr}] (roc.json), with the chance diagonal."""
    fig, ax = _figure(title)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="chance")
    if rows:
        ax.plot([r["fpr"] for r in rows], [r["tpr"] for r in rows], linewidth=2)
    else:
        _no_data(ax)
    _unit_axes(ax, "false positive rate", "true positive rate")
    return _save(fig, path)


def precision_recall(rows: list[dict], path: Path | str, title: str = "Precision-recall") -> Path:
    """rows: [{recall, precision}] (pr.json)."""
    fig, ax = _figure(title)
    if rows:
        ax.plot([r["recall"] for r in rows], [r["precision"] for r in rows], linewidth=2)
    else:
        _no_data(ax)
    _unit_axes(ax, "recall", "precision")
    return _save(fig, path)


def confusion(table: dict, path: Path | str, title: str = "Confusion matrix") -> Path:
    """table: {labels, matrix} (confusion.json): rows are the actual class."""
    fig, ax = _figure(title)
    labels, matrix = table.get("labels", []), table.get("matrix", [])
    if matrix:
        top = max(max(row) for row in matrix) or 1
        ax.imshow(matrix, cmap="Blues", vmin=0, vmax=top)
        for i, row in enumerate(matrix):
            for j, n in enumerate(row):
                shade = "white" if n > top / 2 else "black"
                ax.text(j, i, f"{n:,}", ha="center", va="center", color=shade, fontsize=12)
        ax.grid(False)
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels)), labels)
    else:
        _no_data(ax)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    return _save(fig, path)


def reliability(bins: list[dict], path: Path | str, title: str = "Reliability") -> Path:
    """bins: [{confidence, accuracy, count}] (reliability.json); a marker's area is its count."""
    fig, ax = _figure(title)
    ax.plot([0.5, 1], [0.5, 1], color="grey", linestyle=":", linewidth=1, label="calibrated")
    if bins:
        counts = [b["count"] for b in bins]
        areas = [20 + 180 * n / max(counts) for n in counts]
        confidence, accuracy = [b["confidence"] for b in bins], [b["accuracy"] for b in bins]
        ax.plot(confidence, accuracy, color="tab:blue", linewidth=1)
        ax.scatter(confidence, accuracy, s=areas, color="tab:blue", zorder=3)
    else:
        _no_data(ax)
    ax.set_xlim(0.5, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("confidence (probability of the predicted class)")
    ax.set_ylabel("accuracy")
    ax.legend(loc="lower right")
    return _save(fig, path)


def robustness(rows: list[dict], path: Path | str, title: str = "Robustness") -> Path:
    """rows: [{edit, accuracy, roc_auc}] (robustness.json): one pair of bars per edit."""
    fig, ax = _figure(title, size=(7.0, 4.0))
    if rows:
        places = range(len(rows))
        ax.barh([p + 0.2 for p in places], [r["accuracy"] for r in rows], 0.4, label="accuracy")
        auc = [r["roc_auc"] or 0 for r in rows]
        ax.barh([p - 0.2 for p in places], auc, 0.4, label="ROC-AUC")
        ax.set_yticks(list(places), [r["edit"] for r in rows])
        ax.invert_yaxis()  # the unedited row first, as in the JSON
        low = min([r["accuracy"] for r in rows] + auc)
        ax.set_xlim(max(0.0, low - 0.05), 1)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    else:
        _no_data(ax)
    ax.set_xlabel("on the edited test pictures")
    return _save(fig, path)


def training(metrics_dir: Path | str, path: Path | str, title: str = "Training") -> Path:
    """dvclive's per-epoch files (<metrics_dir>/[<run>/]<split>/<metric>.tsv, columns step
    and the metric): one panel per metric, one line per run and split."""
    curves = read_curves(metrics_dir)
    names = sorted(curves) or [""]
    fig = Figure(figsize=(4.0 * len(names), 3.5), dpi=DPI, layout="constrained")
    fig.suptitle(title)
    for ax, name in zip(fig.subplots(1, len(names), squeeze=False)[0], names, strict=True):
        for series, points in sorted(curves.get(name, {}).items()):
            ax.plot(*zip(*points, strict=True), marker="." if len(points) < 30 else None,
                    label=series)  # fmt: skip
        if name:
            ax.set_title(name)
            ax.set_xlabel("step (one per epoch)")
            ax.legend(fontsize="small")
        else:
            _no_data(ax)
        ax.grid(alpha=0.3)
    return _save(fig, path)


def read_curves(metrics_dir: Path | str) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """{metric: {series: [(step, value)]}}; files beside the splits (images_per_second)
    and unreadable rows are left out."""
    root, curves = Path(metrics_dir), {}
    for file in sorted(root.rglob("*.tsv")) if root.is_dir() else []:
        parts = file.relative_to(root).parts[:-1]
        if not parts:
            continue
        with file.open(newline="") as f:
            points = [_point(row, file.stem) for row in csv.DictReader(f, delimiter="\t")]
        points = [p for p in points if p is not None]
        if points:
            curves.setdefault(file.stem, {})[" ".join(parts)] = points
    return curves


# --- what each stage draws ---


def evaluation_figures(evaluation: Path | str, out: Path | str = FIGURES) -> list[Path]:
    """The evaluate stage's charts from its reports/evaluation/*.json."""
    folder, out = Path(evaluation), Path(out)
    return [
        roc(_read(folder / "roc.json").get("roc", []), out / "roc.png", "ROC (test split)"),
        precision_recall(_read(folder / "pr.json").get("pr", []), out / "precision_recall.png"),
        confusion(_read(folder / "confusion.json"), out / "confusion.png"),
        reliability(
            _read(folder / "reliability.json").get("reliability", []),
            out / "reliability.png",
            "Reliability after temperature scaling",
        ),
        robustness(_read(folder / "robustness.json").get("robustness", []),
                   out / "robustness.png"),
    ]  # fmt: skip


def web_evaluation_figures(evaluation: Path | str, out: Path | str = FIGURES) -> list[Path]:
    """The evaluate_web stage's charts (the web test split) from reports/evaluation_web/."""
    folder, out = Path(evaluation), Path(out)
    rows = _read(folder / "roc.json").get("roc", [])
    bins = _read(folder / "reliability.json").get("reliability", [])
    return [
        roc(rows, out / "web_roc.png", "ROC, web test pictures (web view)"),
        reliability(bins, out / "web_reliability.png", "Reliability, web test pictures"),
    ]


TRAINING = {  # stage: (file, title)
    "train": ("training.png", "Training (whole view)"),
}


def training_figure(stage: str, live_dir: Path | str, out: Path | str = FIGURES) -> Path:
    """A training stage's curves from its dvclive folder (reports/<stage>/)."""
    name, title = TRAINING[stage]
    return training(Path(live_dir) / "plots" / "metrics", Path(out) / name, title)


def main() -> None:
    """Draw every chart again from the committed reports (no stage runs)."""
    reports = Path("reports")
    drawn = [
        *evaluation_figures(reports / "evaluation"),
        *web_evaluation_figures(reports / "evaluation_web"),
        *(training_figure(stage, reports / stage) for stage in TRAINING),
    ]
    print("\n".join(str(p) for p in drawn))


# --- helpers ---


def _figure(title: str, size: tuple[float, float] = SIZE):
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return fig, ax


def _unit_axes(ax, xlabel: str, ylabel: str) -> None:
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def _no_data(ax) -> None:
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)


def _save(fig: Figure, path: Path | str) -> Path:
    path = Path(path)
    with atomic_file(path) as temp:
        fig.savefig(temp, format="png")
    return path


def _read(path: Path) -> dict:
    """A report's JSON; {} when the stage wrote none (a chart then says "no data")."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _point(row: dict, metric: str) -> tuple[float, float] | None:
    try:
        return float(row["step"]), float(row[metric])
    except (KeyError, TypeError, ValueError):
        return None


if __name__ == "__main__":
    main()
