"""The publish stage: refuses a weak model, else writes the model card contract atomically."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from model.errors import ModelError
from model.publish import replace_dir
from pipeline import evaluate as evaluate_stage
from pipeline import publish as publish_stage
from pipeline import train as train_stage
from settings.errors import run
from tests.helpers import make_project, set_params

CARD_KEYS = {
    "name", "architecture", "parameters", "image_size", "input", "threshold", "temperature",
    "preprocessing", "labels", "data", "metrics", "confusion_matrix", "roc", "robustness",
    "calibration", "training", "revision", "created", "min_accuracy",
}  # fmt: skip


@pytest.fixture
def evaluated(tmp_path, monkeypatch):
    make_project(tmp_path, monkeypatch, augment=False)
    train_stage.main()
    evaluate_stage.main()
    return tmp_path


def test_refuses_below_min_accuracy(evaluated, capsys):
    accuracy = json.loads((evaluated / "reports/metrics.json").read_text())["accuracy"]
    set_params("publish", min_accuracy=min(1.0, accuracy + 0.01))
    if accuracy >= 1.0:
        pytest.skip("the tiny model scored 100%")
    with pytest.raises(SystemExit) as exit_:
        run(publish_stage.main, "publish")
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: publish: test accuracy") and "\n" not in err
    assert not (evaluated / "published").exists()
    assert not (evaluated / "data/examples").exists()


def test_publishes_card_model_and_examples(evaluated):
    set_params("publish", min_accuracy=0.0)
    publish_stage.main()
    card = json.loads((evaluated / "published/model_card.json").read_text())
    assert set(card) == CARD_KEYS
    assert card["labels"] == {"0": "ai", "1": "real"} and card["input"] == "rgb"
    assert card["image_size"] == 36 and card["threshold"] == 0.5 and card["temperature"] > 0
    assert set(card["confusion_matrix"]) == {"labels", "matrix"}
    assert len(card["roc"]["fpr"]) == len(card["roc"]["tpr"]) <= 200
    assert {"accuracy", "roc_auc", "ece_before", "ece_after", "per_source"} <= set(card["metrics"])
    assert card["robustness"][1]["edit"] == "jpeg q90"
    assert set(card["data"]["counts"]) == {"train", "val", "test"}
    assert {"epochs_run", "seconds", "images_per_second"} <= set(card["training"])
    model = keras.saving.load_model(evaluated / "published/model.keras")
    assert model.get_layer("last_conv") is not None
    trained = keras.saving.load_model(evaluated / "data/model/model.keras", compile=False)
    pixels = np.random.default_rng(0).integers(0, 256, (2, 36, 36, 3), dtype=np.uint8)
    np.testing.assert_allclose(model(pixels), trained(pixels), rtol=1e-5)
    listing = json.loads((evaluated / "data/examples/examples.json").read_text())
    assert len(listing) == 4 and {e["label"] for e in listing} == {"ai", "real"}
    assert all((evaluated / "data/examples" / e["file"]).is_file() for e in listing)
    assert not [p for p in evaluated.iterdir() if p.name.startswith(".published")]


def test_failed_publish_keeps_the_previous_one(tmp_path):
    target = tmp_path / "published"
    replace_dir(target, lambda folder: (folder / "model_card.json").write_text("old"))

    def broken(folder: Path):
        (folder / "model_card.json").write_text("half")
        raise ModelError("disk full")

    with pytest.raises(ModelError):
        replace_dir(target, broken)
    assert (target / "model_card.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["published"]
