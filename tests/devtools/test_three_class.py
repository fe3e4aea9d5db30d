"""The two- against three-class measurement: its scores on known answers, and a tiny
run end to end (the real run is `python -m devtools.three_class`)."""

from __future__ import annotations

import json

import numpy as np
import yaml

from dataset.modified import make_modified
from dataset.prepared import SPLITS, Split
from devtools import three_class
from settings.params import Modify
from tests.helpers import ROOT, TINY_TRAIN, make_arrays, write_arrays


def _modified(n: int):
    arrays = make_arrays(2 * n, seed=3)
    made = make_modified(Split("test", **arrays), Modify(fraction=1.0, kinds=["blur", "colour"]))
    return made.subset(np.arange(n))


def test_three_class_scores_on_known_answers():
    y = np.array([1, 1, 0, 0])  # real, real, ai, ai
    probs = np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.1, 0.1, 0.8], [0.2, 0.1, 0.7]])
    mod = _modified(4)
    probs_mod = np.array([[0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.1, 0.7, 0.2], [0.2, 0.2, 0.6]])
    scores = three_class.three_class_scores(y, probs, probs_mod, mod)
    assert scores["confusion"]["order"] == ["real", "modified", "ai"]
    assert scores["confusion"]["rows_true_columns_predicted"] == [[1, 1, 0], [1, 2, 1], [0, 0, 2]]
    assert scores["modified_recall"] == 0.5 and scores["modified_called_real"] == 0.25
    assert scores["real_ai_called_modified"] == 0.25
    assert scores["real_ai_test"] == {"accuracy": 0.75, "roc_auc": 1.0}
    assert set(scores["roc_auc_one_vs_rest"]) == {"real", "modified", "ai"}
    by_kind = scores["modified_recall_by_kind"]
    assert sum(v["n"] for v in by_kind.values()) == 4
    caught = np.array([True, False, True, False])
    assert by_kind[mod.kind[0]]["share"] == caught[mod.kind == mod.kind[0]].mean()


def test_two_class_on_modified_counts_what_it_calls_real():
    mod = _modified(4)
    scores = three_class.two_class_on_modified(np.array([0.9, 0.6, 0.2, 0.5]), mod)
    assert scores["called_real"] == 0.75
    assert sum(v["n"] for v in scores["called_real_by_side"].values()) == 4


def test_summary_is_mean_and_sd_over_seeds():
    runs = [
        {"a": {"x": 1.0}, "m": [[1, 2]], "o": ["real"]},
        {"a": {"x": 3.0}, "m": [[3, 4]], "o": ["real"]},
    ]
    assert three_class.summary(runs) == {
        "a": {"x": {"mean": 2.0, "sd": np.sqrt(2)}}, "m": [[2.0, 3.0]], "o": ["real"]}  # fmt: skip


def test_a_tiny_run_end_to_end(tmp_path, monkeypatch):
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    for seed, split in enumerate(SPLITS):
        arrays = make_arrays(48, seed=seed)
        arrays["id"] = np.array([f"{split}/{i}" for i in range(48)])
        write_arrays(prepared, split, arrays)
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["train"].update(TINY_TRAIN)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    three_class.main(["--train-images", "40", "--epochs", "1", "--seeds", "1", "2",
                      "--prepared", str(prepared), "--modified", str(tmp_path / "none"),
                      "--params", str(tmp_path / "params.yaml"), "--out", str(out)])  # fmt: skip
    report = json.loads((out / "three_class.json").read_text())
    assert [r["seed"] for r in report["runs"]] == [1, 2]
    run = report["runs"][0]
    assert run["classes_2"]["training"]["pictures"] == 40
    assert run["classes_3"]["training"]["pictures"] > 40  # plus the modified versions
    assert 0 <= run["classes_2"]["modified_test"]["called_real"] <= 1
    confusion = np.array(run["classes_3"]["confusion"]["rows_true_columns_predicted"])
    assert confusion.shape == (3, 3) and confusion.sum() == 48 + report["modified_test_pictures"]
    assert set(report["summary"]["classes_3"]["real_ai_test"]["roc_auc"]) == {"mean", "sd"}
