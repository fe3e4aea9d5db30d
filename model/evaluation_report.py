"""The evaluate stage's work: score the whole-view model on the test split and write
reports/metrics.json, reports/evaluation/*.json (curves, confusion, calibration,
robustness, per source), their charts in reports/figures/ (model/plots.py) and
reports/images/worst_mistakes.png; then the same model on the test split's modified
pictures (model/modified_report.py: reports/modified.json and its charts).

A three-class model is read through P(real) for every two-class table, after one
temperature fitted for its softmax on the validation split's real, AI and modified
pictures; a two-class model's figures are computed exactly as before.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dataset.modified import load_modified
from dataset.prepared import LABELS, load_split
from model import evaluate as ev
from model import modified_report
from model.classes import MODIFIED, probabilities, three_class_labels
from model.errors import ModelError
from model.plots import evaluation_figures

METRICS = Path("reports/metrics.json")
EVALUATION = Path("reports/evaluation")
MISTAKES_PNG = Path("reports/images/worst_mistakes.png")
MODEL = Path("data/model/model.keras")


def evaluate_whole(params) -> str:
    """Score data/model on the test split; write the reports; return the summary line."""
    if not MODEL.is_file():
        raise ModelError(f"{MODEL} not found; run the train stage first")
    scorer = ev.Scorer(ev.load_trained(MODEL))
    test, val = load_split("test"), load_split("val")

    temperature = _temperature(scorer, val)
    logits = scorer.logits(test.x)
    raw, calibrated = ev.p_real_of(logits), ev.p_real_of(logits, temperature)
    ece_before, bins_before = ev.reliability(raw, test.y, params.calibration_bins)
    ece_after, bins_after = ev.reliability(calibrated, test.y, params.calibration_bins)
    robustness = ev.robustness(scorer, test)
    summary = {
        **ev.scores(test.y, calibrated),
        "threshold": ev.THRESHOLD,
        "temperature": temperature,
        "ece_before": ece_before,
        "ece_after": ece_after,
        "per_source": ev.per_source(test, calibrated, params.bootstrap),
        "robustness": {row["edit"]: _without(row, "edit") for row in robustness},
    }
    worst = ev.worst_mistakes(test, calibrated, params.worst_mistakes)
    predicted = (calibrated >= ev.THRESHOLD).astype(int)
    lines = ev.curves(test.y, calibrated)
    files = {
        "roc.json": {"roc": lines["roc"]},
        "pr.json": {"pr": lines["pr"]},
        "predictions.json": {
            "predictions": [
                {"actual": LABELS[int(a)], "predicted": LABELS[int(b)]}
                for a, b in zip(test.y, predicted, strict=True)
            ]
        },
        "reliability.json": {"reliability": bins_after},
        "calibration.json": {
            "temperature": temperature,
            "ece_before": ece_before,
            "ece_after": ece_after,
            "bins_before": bins_before,
            "bins_after": bins_after,
        },
        "confusion.json": ev.confusion(test.y, calibrated),
        "robustness.json": {"robustness": robustness},
        "worst_mistakes.json": {
            "worst_mistakes": [
                {
                    "id": str(test.id[i]),
                    "source": str(test.source[i]),
                    "actual": LABELS[int(test.y[i])],
                    "p_real": float(calibrated[i]),
                }
                for i in worst
            ]
        },
    }
    EVALUATION.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        _write_json(EVALUATION / name, content, compact=name == "predictions.json")
    _write_json(METRICS, summary)
    evaluation_figures(EVALUATION)
    MISTAKES_PNG.parent.mkdir(parents=True, exist_ok=True)
    ev.mistakes_grid(test, calibrated, worst).save(MISTAKES_PNG)
    modified = evaluate_modified(scorer, test, logits, temperature, params.bootstrap)
    return (
        f"test accuracy {summary['accuracy']:.4f}, ROC-AUC {summary['roc_auc'] or 0:.4f}, "
        f"T={temperature:.2f}, ECE {ece_before:.4f} -> {ece_after:.4f} "
        f"({int(np.sum(predicted != test.y))} mistakes of {len(test)}); "
        + modified_report.summary(modified)
    )


def _temperature(scorer: ev.Scorer, val) -> float:
    """Two classes: fitted on val's real and AI pictures, as always. Three: one
    temperature for the softmax, on val's real, AI and modified pictures."""
    if scorer.classes == 2:
        return ev.fit_temperature(scorer.logits(val.x), val.y)
    modified = load_modified("val")
    logits = np.concatenate([scorer.logits(val.x), scorer.logits(modified.x)])
    labels = np.concatenate([three_class_labels(val.y), np.full(len(modified), MODIFIED)])
    return ev.fit_softmax_temperature(logits, labels)


def evaluate_modified(scorer: ev.Scorer, test, test_logits, temperature, resamples) -> dict:
    """Score the test split's modified pictures; write reports/modified.json, the
    confusion table and their charts; the report."""
    modified = load_modified("test")
    logits = scorer.logits(modified.x)
    three = scorer.classes == 3
    report, table = modified_report.modified_report(
        test, modified, ev.p_real_of(test_logits, temperature), ev.p_real_of(logits, temperature),
        probs_test=probabilities(test_logits, temperature) if three else None,
        probs_modified=probabilities(logits, temperature) if three else None,
        temperature=temperature, resamples=resamples,
    )  # fmt: skip
    modified_report.write_reports(report, table)
    return report


def _without(row: dict, key: str) -> dict:
    return {k: v for k, v in row.items() if k != key}


def _write_json(path: Path, content, compact: bool = False) -> None:
    if compact:  # one row per line: 20,000 rows stay small and diff well in git
        rows = content["predictions"]
        body = ",\n".join(json.dumps(r, separators=(",", ":")) for r in rows)
        path.write_text('{"predictions": [\n' + body + "\n]}\n")
    else:
        path.write_text(json.dumps(content, indent=1) + "\n")
