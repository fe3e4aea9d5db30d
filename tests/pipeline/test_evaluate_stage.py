"""The evaluate stage on a tiny trained model, and its calibration arithmetic."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from model import evaluate as ev
from pipeline import evaluate as evaluate_stage
from pipeline import train as train_stage
from tests.helpers import SIZES, make_project


def test_evaluate_stage_writes_reports(tmp_path, monkeypatch):
    make_project(tmp_path, monkeypatch, augment=False)
    train_stage.main()
    evaluate_stage.main()
    metrics = json.loads((tmp_path / "reports/metrics.json").read_text())
    for key in ("accuracy", "roc_auc", "average_precision", "ece_before", "ece_after"):
        assert 0 <= metrics[key] <= 1, key
    assert metrics["temperature"] > 0
    for key in ("precision", "recall", "f1"):
        assert set(metrics[key]) == {"ai", "real"}
    assert set(metrics["per_source"]) == {"cifake", "scraped"}
    assert {"none", "jpeg q90", "jpeg q50", "half size and back", "brightness -32"} <= set(
        metrics["robustness"]
    )
    folder = tmp_path / "reports/evaluation"
    predictions = json.loads((folder / "predictions.json").read_text())["predictions"]
    assert len(predictions) == SIZES["test"]
    assert set(predictions[0]) == {"actual", "predicted"}
    assert {"ai", "real"} >= {p["actual"] for p in predictions}
    roc = json.loads((folder / "roc.json").read_text())["roc"]
    assert roc[0].keys() >= {"fpr", "tpr"} and roc[-1]["tpr"] == 1.0
    assert json.loads((folder / "pr.json").read_text())["pr"][0].keys() >= {"precision", "recall"}
    bins = json.loads((folder / "reliability.json").read_text())["reliability"]
    assert bins and bins[0].keys() == {"confidence", "accuracy", "count"}
    assert sum(b["count"] for b in bins) == SIZES["test"]
    for chart in ("roc", "precision_recall", "confusion", "reliability", "robustness"):
        assert (tmp_path / f"reports/figures/{chart}.png").read_bytes()[:4] == b"\x89PNG", chart
    matrix = json.loads((folder / "confusion.json").read_text())["matrix"]
    assert np.sum(matrix) == SIZES["test"]
    with Image.open(tmp_path / "reports/images/worst_mistakes.png") as grid:
        assert grid.format == "PNG"


def test_temperature_recovers_overconfidence():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, 20000)
    y = (rng.random(20000) < ev.sigmoid(true_logits)).astype(int)
    assert abs(ev.fit_temperature(3 * true_logits, y) - 3) < 0.2
    ece_raw, _ = ev.reliability(ev.sigmoid(3 * true_logits), y, 15)
    ece_fit, _ = ev.reliability(ev.sigmoid(true_logits), y, 15)
    assert ece_fit < 0.02 < ece_raw


def test_worst_mistakes_are_confident_wrong_answers():
    from dataset.prepared import Split

    y = np.array([1, 1, 0, 0])
    split = Split("test", np.zeros((4, 36, 36, 3), np.uint8), y, np.array(["a"] * 4), np.arange(4))
    p_real = np.array([0.9, 0.05, 0.4, 0.7])
    assert ev.worst_mistakes(split, p_real, 5) == [1, 3]


def test_ela_model_trains_and_evaluates(tmp_path, monkeypatch):
    make_project(tmp_path, monkeypatch, ela=True)
    train_stage.main()
    evaluate_stage.main()
    metrics = json.loads((tmp_path / "reports/metrics.json").read_text())
    assert metrics["n"] == SIZES["test"] and "jpeg q70" in metrics["robustness"]
