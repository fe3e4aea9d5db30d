"""The evaluate stage on a tiny trained model, and its calibration arithmetic."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from model import evaluate as ev
from pipeline import evaluate as evaluate_stage
from pipeline import train as train_stage
from tests.helpers import SIZES, make_project


def test_evaluate_stage_writes_reports(evaluated):
    metrics = json.loads((evaluated / "reports/metrics.json").read_text())
    for key in ("accuracy", "roc_auc", "average_precision", "ece_before", "ece_after"):
        assert 0 <= metrics[key] <= 1, key
    assert metrics["temperature"] > 0
    for key in ("precision", "recall", "f1"):
        assert set(metrics[key]) == {"ai", "real"}
    assert set(metrics["per_source"]) == {"cifake", "scraped"}
    assert {"none", "jpeg q90", "jpeg q50", "half size and back", "brightness -32"} <= set(
        metrics["robustness"]
    )
    folder = evaluated / "reports/evaluation"
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
        assert (evaluated / f"reports/figures/{chart}.png").read_bytes()[:4] == b"\x89PNG", chart
    matrix = json.loads((folder / "confusion.json").read_text())["matrix"]
    assert np.sum(matrix) == SIZES["test"]
    with Image.open(evaluated / "reports/images/worst_mistakes.png") as grid:
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


# --- the modified test pictures (model/modified_report.py) ---

KINDS = {"blur", "colour", "copy_move", "paste_ai"}


def check_modified_figures(root, classes: int) -> dict:
    report = json.loads((root / "reports/modified.json").read_text())
    modified = np.load(root / "data/modified/test.npz")
    assert report["classes"] == classes and report["n"] == len(modified["kind"])
    assert 0 <= report["called_real"] <= 1 and 0 <= report["mean_p_real"] <= 1
    assert set(report["per_kind"]) == KINDS and set(report["per_side"]) == {"0.25", "0.375", "0.5"}
    assert sum(row["n"] for row in report["per_kind"].values()) == report["n"]
    for key in ("called_real_ci", "mean_p_real_ci"):
        assert report[key] is None or report[key][0] <= report[key][1]
    real = int(np.sum(np.load(root / "data/prepared/test.npz")["y"] == 1))
    assert report["real_vs_modified"]["n"] == real + report["n"]
    assert report["real_vs_ai"]["n"] == SIZES["test"]
    table = json.loads((root / "reports/evaluation/modified_confusion.json").read_text())
    assert table["actual"] == ["real", "modified", "ai"]
    assert np.sum(table["matrix"]) == SIZES["test"] + report["n"]
    assert np.sum(table["matrix"][1]) == report["n"]
    for chart in ("modified", "modified_confusion"):
        assert (root / f"reports/figures/{chart}.png").read_bytes()[:4] == b"\x89PNG", chart
    return report


def test_the_stage_says_how_often_a_two_class_model_calls_modified_pictures_real(evaluated):
    report = check_modified_figures(evaluated, classes=2)
    assert "called_modified" not in report and "three_class" not in report
    table = json.loads((evaluated / "reports/evaluation/modified_confusion.json").read_text())
    assert table["predicted"] == ["real", "ai"]
    assert table["matrix"][1][0] == round(report["called_real"] * report["n"])


def test_a_three_class_model_gets_its_confusion_and_one_vs_rest_auc(tmp_path, monkeypatch):
    make_project(tmp_path, monkeypatch, augment=False, classes=3)
    train_stage.main()
    evaluate_stage.main()
    metrics = json.loads((tmp_path / "reports/metrics.json").read_text())
    assert 0 <= metrics["accuracy"] <= 1 and metrics["temperature"] > 0  # from P(real)
    report = check_modified_figures(tmp_path, classes=3)
    assert report["temperature"] == metrics["temperature"]
    assert 0 <= report["called_modified"] <= 1
    assert all("called_modified" in row for row in report["per_kind"].values())
    three = report["three_class"]
    assert set(three["roc_auc_ovr"]) == {"real", "modified", "ai", "macro"}
    assert three["n"] == SIZES["test"] + report["n"]
    table = json.loads((tmp_path / "reports/evaluation/modified_confusion.json").read_text())
    assert table["predicted"] == ["real", "modified", "ai"] and len(table["matrix"][0]) == 3
    assert np.trace(table["matrix"]) == round(three["accuracy"] * three["n"])


def test_a_model_that_calls_everything_real_calls_every_modified_picture_real():
    from dataset.modified import ModifiedSet
    from dataset.prepared import Split
    from model.modified_report import modified_report

    n = 8
    kinds = np.array(["blur", "colour"] * (n // 2))
    modified = ModifiedSet(
        "test", np.zeros((n, 4, 4, 3), np.uint8), kinds, np.full(n, 0.25, np.float32),
        np.full(n, 0.06, np.float32), np.zeros((n, 4), np.int16), np.ones(n, np.float32),
        np.array([f"r{i}" for i in range(n)]), np.array(["cifake"] * n), np.array([""] * n),
        np.zeros((n, 4), np.int16), np.zeros((n, 4, 4), np.uint8),
    )  # fmt: skip
    y = np.array([1, 0] * 6)
    test = Split("test", np.zeros((12, 4, 4, 3), np.uint8), y, np.array(["cifake"] * 12),
                 np.arange(12))  # fmt: skip
    p_test = np.where(y == 1, 0.9, 0.2)
    report, table = modified_report(
        test, modified, p_test, np.full(n, 0.8), temperature=1.0, resamples=50
    )
    assert report["called_real"] == 1.0 and report["called_real_ci"] == [1.0, 1.0]
    assert report["per_kind"]["blur"]["n"] == 4 and report["mean_p_real"] == pytest.approx(0.8)
    assert report["real_vs_modified"]["roc_auc"] == 1.0  # still ranked below real ones
    assert report["real_vs_ai"]["accuracy"] == 1.0
    assert table["matrix"] == [[6, 0], [8, 0], [0, 6]]
