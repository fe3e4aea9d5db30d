"""The train stage end to end on tiny random arrays: model, history and dvclive metrics."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from pipeline import train as stage
from settings.errors import run
from settings.params import Train
from tests.helpers import make_project, set_params


def test_train_stage_writes_model_and_metrics(tmp_path, monkeypatch):
    make_project(tmp_path, monkeypatch)
    stage.main()
    model = keras.saving.load_model("data/model/model.keras", compile=False)
    assert model.get_layer("last_conv") is not None
    assert model(np.zeros((1, 36, 36, 3), np.uint8)).shape == (1, 1)
    summary = json.loads(Path("data/model/training.json").read_text())
    assert summary["epochs_run"] == 1 and summary["images_per_second"] > 0
    history = json.loads(Path("data/model/history.json").read_text())
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(history)
    metrics = json.loads(Path("reports/train/metrics.json").read_text())
    assert {"train", "val", "step", "epochs_run", "images_per_second"} <= set(metrics)
    assert {"loss", "accuracy", "auc"} <= set(metrics["val"])
    assert (tmp_path / "reports/train/plots/metrics/val/loss.tsv").is_file()
    assert Path("reports/figures/training.png").read_bytes()[:4] == b"\x89PNG"  # its chart
    assert not (tmp_path / "dvc.yaml").exists()  # dvc.yaml of the project declares the outputs


def test_three_classes_train_on_the_modified_set_too(tmp_path, monkeypatch):
    from pipeline import modify

    make_project(tmp_path, monkeypatch, classes=3)
    modify.main()  # data/modified from the tiny prepared splits
    stage.main()
    model = keras.saving.load_model("data/model/model.keras", compile=False)
    assert model(np.zeros((2, 36, 36, 3), np.uint8)).shape == (2, 3)
    summary = json.loads(Path("data/model/training.json").read_text())
    modified = np.load("data/modified/train.npz")["kind"]
    assert summary["train_images"] == len(np.load("data/prepared/train.npz")["y"]) + len(modified)
    assert set(summary["class_weight"]) == {"0", "1", "2"}  # real, modified, ai weighed alike
    assert summary["params"]["classes"] == 3


def test_training_is_seeded(tmp_path, monkeypatch):
    make_project(tmp_path, monkeypatch, augment=True)
    stage.main()
    first = json.loads(Path("data/model/history.json").read_text())["loss"]
    stage.main()
    again = json.loads(Path("data/model/history.json").read_text())["loss"]
    np.testing.assert_allclose(first, again, rtol=1e-3)


def test_mirrored_strategy_on_cpu(tmp_path, monkeypatch):
    make_project(tmp_path, monkeypatch, strategy="mirrored", augment=False)
    stage.main()
    assert (tmp_path / "data/model/model.keras").is_file()


def test_missing_data_is_one_line(tmp_path, monkeypatch, capsys):
    make_project(tmp_path, monkeypatch)
    (tmp_path / "data/prepared/val.npz").unlink()
    with pytest.raises(SystemExit) as exit_:
        run(stage.main, "train")
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: train: ") and "val.npz not found" in err and "\n" not in err


def test_imagenet_offline_stops_the_stage_with_one_line(tmp_path, monkeypatch, capsys):
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(file_utils, "get_file", offline)
    make_project(tmp_path, monkeypatch)
    set_params("train", architecture="resnet50", weights="imagenet", pretrained_image_size=32)
    with pytest.raises(SystemExit):
        run(stage.main, "train")
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith("error: train: ImageNet weights for resnet50 could not be downloaded")
    assert err.endswith("set train.weights: none")


def test_early_stopping_waits_for_the_cosine_decay():
    from model.train import early_stopping_start

    assert early_stopping_start(Train(epochs=24, schedule="cosine")) == 12
    assert early_stopping_start(Train(epochs=24, schedule="constant")) == 0
