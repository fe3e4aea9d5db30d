"""How the whole-view model treats the modified set (data/modified, dataset/modified.py):
the evaluate stage's reports/modified.json, reports/evaluation/modified_confusion.json
and their charts reports/figures/modified.png and modified_confusion.png.

Every model: on the test split's modified pictures (real pictures edited in one
region), the share it calls real (calibrated p_real >= 0.5) and the mean p_real,
overall, per kind of edit, per region side and per source of the real picture, each
with its 95% bootstrap interval; the ROC-AUC of p_real between the untouched real test
pictures and the modified ones; real against AI on the test split from p_real. A
two-class model has no "modified" answer, so its confusion rows are real, modified and
ai against its two answers: the question is whether it calls an edited picture real.

A three-class model adds the 3x3 confusion (rows true, columns the most probable class
after the temperature) over the real/AI test pictures and the modified ones, one-vs-rest
ROC-AUC per class, and the recall of "modified" (`called_modified`) in every group.

`python -m model.modified_report` draws the charts again from the committed reports.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score

from dataset.atomic import atomic_file
from dataset.modified import ModifiedSet
from dataset.prepared import Split
from model.classes import AI, CLASSES, MODIFIED, REAL, three_class_labels
from model.intervals import bootstrap, with_intervals
from model.plots import DPI, FIGURES

REPORT = Path("reports/modified.json")
CONFUSION = Path("reports/evaluation/modified_confusion.json")
BARS_PNG = FIGURES / "modified.png"
CONFUSION_PNG = FIGURES / "modified_confusion.png"
THRESHOLD = 0.5
TWO_CLASS_ANSWERS = ("real", "ai")  # a two-class model's columns


def answers(p_real: np.ndarray, probabilities: np.ndarray | None) -> np.ndarray:
    """Each picture's answer as an index into CLASSES: the most probable of three, or
    REAL / AI from p_real against the threshold for a two-class model."""
    if probabilities is not None:
        return np.argmax(probabilities, axis=1)
    return np.where(np.asarray(p_real) >= THRESHOLD, REAL, AI)


def group_figures(p_real: np.ndarray, answer: np.ndarray, three: bool, resamples: int) -> dict:
    """n, the share called real and the mean p_real (and, with three classes, the share
    called modified: the recall of "modified"), each with its 95% interval."""
    figures = {"n": int(len(p_real))}
    columns = {"called_real": (answer == REAL).astype(float), "mean_p_real": p_real}
    if three:
        columns["called_modified"] = (answer == MODIFIED).astype(float)
    for name, values in columns.items():
        values = np.asarray(values, np.float64)
        figures[name] = float(values.mean()) if len(values) else None
        figures[f"{name}_ci"] = bootstrap(values, values, _mean, resamples)
    return figures


def _mean(_, values) -> float:
    return float(np.mean(values))


def _grouped(keys: np.ndarray, p_real, answer, three, resamples, name=str) -> dict:
    return {
        name(key): group_figures(p_real[keys == key], answer[keys == key], three, resamples)
        for key in sorted(set(keys.tolist()))
    }


def modified_report(
    test: Split, modified: ModifiedSet, p_test: np.ndarray, p_modified: np.ndarray, *,
    probs_test: np.ndarray | None = None, probs_modified: np.ndarray | None = None,
    temperature: float, resamples: int = 1000,
) -> tuple[dict, dict]:  # fmt: skip
    """(reports/modified.json, the confusion table) from calibrated p_real (and the three
    calibrated probabilities of a three-class model) of the test split and its modified
    pictures."""
    three = probs_modified is not None
    answer = answers(p_modified, probs_modified)
    report = {
        "classes": 3 if three else 2,
        "threshold": THRESHOLD,
        "temperature": float(temperature),
        **group_figures(p_modified, answer, three, resamples),
        "per_kind": _grouped(modified.kind, p_modified, answer, three, resamples),
        "per_side": _grouped(modified.side, p_modified, answer, three, resamples, "{:g}".format),
        "per_source": _grouped(modified.real_source, p_modified, answer, three, resamples),
        "real_vs_modified": _real_vs_modified(test, p_test, p_modified, resamples),
        "real_vs_ai": with_intervals(test.y, p_test, resamples),
    }
    y_all = np.concatenate([three_class_labels(test.y), np.full(len(modified), MODIFIED)])
    answer_all = np.concatenate([answers(p_test, probs_test), answer])
    table = confusion(y_all, answer_all, three)
    if three:
        report["three_class"] = _three_class(y_all, np.concatenate([probs_test, probs_modified]))
    return report, table


def _real_vs_modified(test: Split, p_test, p_modified, resamples) -> dict:
    """ROC-AUC of p_real between untouched real test pictures (1) and modified ones (0):
    0.5 when the model cannot tell an edited picture from a real one."""
    p = np.concatenate([p_test[test.y == 1], p_modified])
    y = np.concatenate([np.ones(int(np.sum(test.y == 1))), np.zeros(len(p_modified))])
    figures = with_intervals(y, p, resamples)
    return {k: figures[k] for k in ("n", "roc_auc", "roc_auc_ci")}


def _three_class(y: np.ndarray, probabilities: np.ndarray) -> dict:
    """Accuracy (most probable class) and one-vs-rest ROC-AUC per class and their mean."""
    auc = {}
    for k, name in enumerate(CLASSES):
        mine = y == k
        both = 0 < mine.sum() < len(y)
        auc[name] = float(roc_auc_score(mine, probabilities[:, k])) if both else None
    known = [v for v in auc.values() if v is not None]
    auc["macro"] = float(np.mean(known)) if known else None
    return {
        "n": int(len(y)),
        "accuracy": float(np.mean(np.argmax(probabilities, axis=1) == y)),
        "roc_auc_ovr": auc,
    }


def confusion(y: np.ndarray, answer: np.ndarray, three: bool) -> dict:
    """Counts, rows the true class (real, modified, ai), columns the model's answers."""
    columns = CLASSES if three else TWO_CLASS_ANSWERS
    indices = [CLASSES.index(c) for c in columns]
    matrix = [[int(np.sum((y == i) & (answer == j))) for j in indices] for i in range(len(CLASSES))]
    return {"actual": list(CLASSES), "predicted": list(columns), "matrix": matrix}


# --- charts ---


def bars_chart(report: dict, path: Path | str = BARS_PNG) -> Path:
    """Per kind of edit and per region side: the share called real (and, with three
    classes, called modified), with 95% intervals."""
    fig = Figure(figsize=(9.0, 4.0), dpi=DPI, layout="constrained")
    shares = ["called_real"] + (["called_modified"] if report.get("classes") == 3 else [])
    colours = {"called_real": "tab:green", "called_modified": "tab:orange"}
    for k, (key, title) in enumerate((("per_kind", "kind of edit"),
                                      ("per_side", "region side / picture side"))):  # fmt: skip
        ax = fig.add_subplot(1, 2, k + 1)
        groups = report.get(key) or {}
        names = list(groups)
        width = 0.8 / len(shares)
        for s, share in enumerate(shares):
            x = np.arange(len(names)) + (s - (len(shares) - 1) / 2) * width
            values = [groups[n].get(share) or 0.0 for n in names]
            errors = _error_bars(values, [groups[n].get(f"{share}_ci") for n in names])
            ax.bar(x, values, width, yerr=errors, capsize=3, color=colours[share],
                   label=share.replace("_", " "))  # fmt: skip
        ax.set_xticks(range(len(names)), names)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(title)
        ax.set_ylabel("share of modified test pictures")
        ax.grid(alpha=0.3, axis="y")
        if not names:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        ax.legend(loc="upper right", fontsize=8)
    model = "three-class" if report.get("classes") == 3 else "two-class"
    fig.suptitle(f"Modified test pictures, {model} model (95% intervals)")
    return _save(fig, path)


def _error_bars(values, intervals) -> np.ndarray:
    low = [v - ci[0] if ci else 0.0 for v, ci in zip(values, intervals, strict=True)]
    high = [ci[1] - v if ci else 0.0 for v, ci in zip(values, intervals, strict=True)]
    return np.clip(np.array([low, high]), 0, None)


def confusion_chart(table: dict, path: Path | str = CONFUSION_PNG) -> Path:
    """The confusion table, each cell coloured by its share of the row (the rows differ
    in size: the modified set is a fraction of the real pictures)."""
    fig = Figure(figsize=(5.0, 4.0), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    matrix = np.asarray(table.get("matrix") or [[0]], np.float64)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i, row in enumerate(matrix):
        for j, n in enumerate(row):
            shade = "white" if shares[i, j] > 0.5 else "black"
            ax.text(j, i, f"{int(n):,}\n{shares[i, j]:.0%}", ha="center", va="center",
                    color=shade, fontsize=10)  # fmt: skip
    ax.set_xticks(range(len(table.get("predicted", []))), table.get("predicted", []))
    ax.set_yticks(range(len(table.get("actual", []))), table.get("actual", []))
    ax.set_xlabel("model's answer")
    ax.set_ylabel("actual")
    ax.set_title("Real, modified and AI test pictures")
    return _save(fig, path)


def _save(fig: Figure, path: Path | str) -> Path:
    path = Path(path)
    with atomic_file(path) as temp:
        fig.savefig(temp, format="png")
    return path


def write_reports(report: dict, table: dict) -> list[Path]:
    """The metrics file, the confusion table and both charts."""
    for path, content in ((REPORT, report), (CONFUSION, table)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=1) + "\n")
    return [bars_chart(report), confusion_chart(table)]


def summary(report: dict) -> str:
    """One line for the stage's output."""
    line = (
        f"modified test pictures: {report['n']}, called real {report['called_real']:.1%}, "
        f"mean p_real {report['mean_p_real']:.3f}"
    )
    if report.get("classes") == 3:
        line += f", recall of modified {report['called_modified']:.1%}"
    return line


def main() -> None:
    """Draw both charts again from the committed reports (no stage runs)."""
    drawn = [
        bars_chart(json.loads(REPORT.read_text())),
        confusion_chart(json.loads(CONFUSION.read_text())),
    ]
    print("\n".join(str(p) for p in drawn))


if __name__ == "__main__":
    main()
