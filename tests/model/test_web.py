"""The patch view end to end on made-up web pictures: store, augmentation, training with
held-out groups, the seeds' ensemble, evaluation with intervals and the baseline."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dataset import web as store
from dataset.errors import DatasetError
from dataset.views import grid_patches, rescale_longer
from model.errors import ModelError
from settings.params import Augment, Train, Web
from tests.helpers import make_web_store

TINY = Train(filters=[4, 8, 8, 8], dense=[8], weights="none")
WEB = Web(longer_side=48, image_size=16, grid=3, val_groups=["held"], crops_per_picture=2,
          seeds=[1, 2], epochs=2, batch_size=8, patience=1)  # fmt: skip


@pytest.fixture(scope="module")
def web_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    return make_web_store(root, WEB.longer_side, WEB.image_size, WEB.val_groups)


def test_store_holds_the_rescaled_pictures_with_their_groups(web_dir):
    data = store.load(web_dir)
    assert len(data) == 48
    assert set(data.split) == {"train", "val", "test"}
    assert set(data.group[data.split == "val"]) == {"held"}  # whole groups held out
    assert max(data.picture(1).shape[:2]) == WEB.longer_side
    assert min(data.picture(0).shape[:2]) >= WEB.image_size  # a tall thin one is enlarged
    assert set(data.file_format) == {"PNG"} and (data.jpeg_quality == 0).all()


def test_store_refuses_an_unknown_held_out_group(tmp_path):
    row = dict(id="a", path="x", label=1, split="train", keyword="k", group="g", format="PNG",
               width=1, height=1)  # fmt: skip
    with pytest.raises(DatasetError, match="web.val_groups names 'nope'"):
        store.prepare([row], 48, 16, ["nope"], out=tmp_path / "web")


def test_missing_store_names_the_stage(tmp_path):
    with pytest.raises(DatasetError, match="run the prepare_web stage"):
        store.load(tmp_path)


def test_grid_patches_cover_the_picture_edge_to_edge():
    picture = rescale_longer(np.zeros((30, 60, 3), np.uint8), 48, 16)
    patches = grid_patches(np.arange(picture.size, dtype=np.uint32).reshape(picture.shape), 16, 3)
    assert patches.shape == (9, 16, 16, 3)
    assert patches[0, 0, 0, 0] == 0  # top-left corner
    assert patches[-1, -1, -1, -1] == picture.size - 1  # bottom-right corner


def test_augmentation_keeps_shape_and_dtype():
    from model.web_data import augment_picture

    rng = np.random.default_rng(0)
    always = Augment(jpeg_p=0.99, blur_p=0.99, downscale_p=0.99)
    picture = np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    out = augment_picture(picture, rng, always)
    assert out.shape == picture.shape and out.dtype == np.uint8
    assert not np.array_equal(out, picture)


def test_train_evaluate_and_ensemble(web_dir, tmp_path):
    from model.web_evaluate import evaluate_web
    from model.web_train import train_web

    data = store.load(web_dir)
    summary = train_web(data.subset(data.split == "train"), data.subset(data.split == "val"),
                        WEB, TINY, out_dir=tmp_path)  # fmt: skip
    assert len(summary["val_auc_per_seed"]) == 2 and summary["val_groups"] == ["held"]
    import keras

    model = keras.saving.load_model(tmp_path / "model.keras", compile=False)
    seeds = keras.saving.load_model(tmp_path / "seeds.keras", compile=False)
    assert model.get_layer("logit") is not None and model.input_shape[1:] == (16, 16, 3)
    best = int(np.argmax(summary["val_auc_per_seed"]))
    assert summary["published"].startswith(f"seed index {best}")  # chosen on validation
    assert model.count_params() * 2 == seeds.count_params()  # one seed of two
    metrics, tables = evaluate_web(model, seeds, data, WEB, resamples=100, bins=5)
    held = metrics["held_out"]
    assert held["n"] == int(((data.split == "test") & (data.group == "held")).sum())
    assert set(metrics["per_group"]) == {"held", "seen"}
    assert "roc_auc_ci" in metrics["container_baseline"]["held_out"]
    assert metrics["temperature"] > 0 and "roc" in tables["roc.json"]
    assert len(metrics["held_out_auc_per_seed"]) == 2 and "held_out_auc_all_seeds" in metrics


def test_training_without_held_out_pictures_is_one_line(web_dir, tmp_path):
    from model.web_train import train_web

    data = store.load(web_dir)
    no_val = dataclasses.replace(WEB, val_groups=[])
    with pytest.raises(ModelError, match="web.val_groups"):
        train_web(data.subset(data.split == "train"), data.subset(data.split == "none"), no_val,
                  TINY, out_dir=tmp_path)  # fmt: skip


def test_a_grid_of_one_is_the_centre_crop():
    picture = np.arange(40 * 60 * 3, dtype=np.uint32).reshape(40, 60, 3)
    (patch,) = grid_patches(picture, 16, 1)
    assert patch[0, 0, 0] == picture[12, 22, 0]


def test_the_patch_view_trains_on_a_pretrained_base(web_dir, tmp_path):
    # The lever this machine cannot pull (ImageNet weights need the network): the same
    # stage code with a frozen EfficientNetB0 base, here without weights, saves a model that
    # scores patches like the cnn4 one.
    import keras

    from model.web_train import patch_logits, train_web

    data = store.load(web_dir)
    base = Train(architecture="efficientnetb0", weights="none", pretrained_image_size=32, dense=[8])
    one_seed = dataclasses.replace(WEB, seeds=[1], epochs=1)
    train_web(data.subset(data.split == "train"), data.subset(data.split == "val"), one_seed,
              base, out_dir=tmp_path)  # fmt: skip
    model = keras.saving.load_model(tmp_path / "model.keras", compile=False)
    patches = np.zeros((3, 16, 16, 3), np.float32)
    assert np.isfinite(patch_logits(model, patches)).all()
