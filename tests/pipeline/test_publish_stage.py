"""The publish stage: refuses a weak model, else writes the model card contract atomically."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from model import backbone
from model.errors import ModelError
from model.publish import write_published
from pipeline import publish as publish_stage
from settings import params
from settings.errors import run
from tests.helpers import WEB_SIZE, installed_backbone, set_params

CARD_KEYS = {"name", "architecture", "labels", "routing", "views", "data", "revision", "created"}
WHOLE_KEYS = {
    "file", "kind", "calibrated_on", "architecture", "parameters", "image_size", "input",
    "threshold", "temperature", "preprocessing", "metrics", "confusion_matrix", "roc",
    "robustness", "calibration", "training", "min_accuracy", "classes", "modified",
}  # fmt: skip


def test_refuses_below_min_accuracy(evaluated, capsys):
    metrics = json.loads((evaluated / "reports/metrics.json").read_text())
    accuracy = metrics["per_source"]["cifake"]["accuracy"]
    set_params("publish", min_accuracy=min(1.0, accuracy + 0.01))
    if accuracy >= 1.0:
        pytest.skip("the tiny model scored 100%")
    with pytest.raises(SystemExit) as exit_:
        run(publish_stage.main, "publish")
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: publish: CIFAKE test accuracy") and "\n" not in err
    assert not (evaluated / "published").exists()


def test_refuses_below_min_web_auc(evaluated, capsys):
    """The gate is the shipped recipe's leave-one-group-out mean (reports/logo.json), not
    the test split's figure nor the best recipe's."""
    path = evaluated / "reports/logo.json"
    logo = json.loads(path.read_text())
    logo["shipped"]["mean"] = 0.6
    for row in logo["recipes"].values():
        row["mean"] = 0.99  # every recipe would clear the gate
    path.write_text(json.dumps(logo))
    set_params("publish", min_accuracy=0.0, min_web_auc=0.61)
    with pytest.raises(SystemExit) as exit_:
        run(publish_stage.main, "publish")
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        "error: publish: web leave-one-group-out mean ROC-AUC 0.6000 is below "
        "publish.min_web_auc 0.61"
    ) and "\n" not in err  # fmt: skip
    assert not (evaluated / "published").exists()
    set_params("publish", min_accuracy=0.0, min_web_auc=0.6)
    publish_stage.main()
    card = json.loads((evaluated / "published/model_card.json").read_text())
    assert card["views"]["web"]["metrics"]["logo"]["mean"] == 0.6


def test_without_the_logo_report_nothing_is_published(evaluated, capsys):
    (evaluated / "reports/logo.json").unlink()
    set_params("publish", min_accuracy=0.0, min_web_auc=0.0)
    with pytest.raises(SystemExit):
        run(publish_stage.main, "publish")
    err = capsys.readouterr().err.strip()
    assert "reports/logo.json not found" in err and "\n" not in err
    assert not (evaluated / "published").exists()


def test_publishes_card_models_and_examples(evaluated):
    set_params("publish", min_accuracy=0.0, min_web_auc=0.0)
    publish_stage.main()
    card = json.loads((evaluated / "published/model_card.json").read_text())
    assert set(card) == CARD_KEYS and set(card["views"]) == {"whole", "web"}
    assert card["labels"] == {"0": "ai", "1": "real"} and card["routing"]["whole_max_side"] == 64
    whole, web = card["views"]["whole"], card["views"]["web"]
    assert set(whole) == WHOLE_KEYS and whole["input"] == "rgb" and whole["file"] == "model.keras"
    assert whole["image_size"] == 36 and whole["threshold"] == 0.5 and whole["temperature"] > 0
    assert whole["classes"] is None  # the two-class sigmoid head
    assert 0 <= whole["modified"]["called_real"] <= 1 and "blur" in whole["modified"]["per_kind"]
    assert set(whole["confusion_matrix"]) == {"labels", "matrix"}
    assert len(whole["roc"]["fpr"]) == len(whole["roc"]["tpr"]) <= 200
    assert {"accuracy", "accuracy_ci", "roc_auc_ci", "ece_after", "per_source"} <= set(
        whole["metrics"]
    )
    assert whole["robustness"][1]["edit"] == "jpeg q90"
    assert set(card["data"]["counts"]) == {"train", "val", "test"}
    assert {"epochs_run", "seconds", "images_per_second"} <= set(whole["training"])
    logo = json.loads((evaluated / "reports/logo.json").read_text())
    web_metrics = json.loads((evaluated / "reports/web_metrics.json").read_text())
    calibration = json.loads((evaluated / "data/model_web/calibration.json").read_text())
    assert web["file"] == "web_head.keras" and web["kind"] == "web picture"
    shipped = params.load("web", evaluated / "params.yaml")
    # what loading checks the package against
    assert web["backbone"] == installed_backbone(shipped.backbone.name)
    assert (web["image_size"], web["features"]) == (WEB_SIZE, list(shipped.features))
    assert web["temperature"] == pytest.approx(calibration["temperature"])
    assert "held out of training (held, seen)" in web["calibrated_on"]
    metrics = web["metrics"]
    # the headline figures: pooled out-of-fold (held-out groups), not the test split
    assert metrics["n"] == calibration["held_out"]["n"] == logo["groups"]["held"] + logo[
        "groups"]["seen"]  # fmt: skip
    assert metrics["logo"] == {"mean": logo["shipped"]["mean"], "folds": logo["shipped"]["folds"]}
    assert metrics["confidence_table"] == calibration["confidence_table"]
    assert metrics["test"]["n"] == web_metrics["test"]["n"] and metrics["roc_auc_ci"]
    assert set(metrics["per_group"]) == {"held", "seen"}
    assert set(metrics["small"]) == {"web_view", "cifake_view"}
    assert set(web["container_baseline"]) == {"logo", "test"}
    assert web["container_baseline"]["logo"]["mean"] == logo["recipes"]["container"]["mean"]
    assert set(web["comparison"]) == set(logo["recipes"])
    model = keras.saving.load_model(evaluated / "published/model.keras")
    assert model.get_layer("last_conv") is not None
    trained = keras.saving.load_model(evaluated / "data/model/model.keras", compile=False)
    pixels = np.random.default_rng(0).integers(0, 256, (2, 36, 36, 3), dtype=np.uint8)
    np.testing.assert_allclose(model(pixels), trained(pixels), rtol=1e-5)
    head = keras.saving.load_model(evaluated / "published/web_head.keras")
    sizes = backbone.feature_sizes(shipped.backbone.name)
    width = sum(sizes[name] for name in shipped.features)  # the features, side by side
    assert head.get_layer("logit") and head.input_shape[1:] == (width,)
    assert not (evaluated / "published/backbone.keras").exists()  # rebuilt from the package
    examples = evaluated / "published/examples"
    listing = json.loads((examples / "examples.json").read_text())
    assert len(listing) == 4 and {e["label"] for e in listing} == {"ai", "real"}
    assert {e["source"] for e in listing} == {"cifake"}  # never a web picture
    assert all((examples / e["file"]).is_file() for e in listing)
    assert not [p for p in evaluated.iterdir() if p.name.startswith(".published")]


def test_failed_publish_keeps_the_previous_one(tmp_path):
    target = tmp_path / "published"
    write_published(target, lambda folder: (folder / "model_card.json").write_text("old"))

    def broken(folder: Path):
        (folder / "model_card.json").write_text("half")
        raise ModelError("disk full")

    with pytest.raises(ModelError):
        write_published(target, broken)
    assert (target / "model_card.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["published"]
