"""The model contract that model/serve.py and the app rely on."""

from __future__ import annotations

import numpy as np
import pytest

from model.build import build_model, check_size, loss_for
from model.classes import CLASSES, LOGITS_LAYER, PROBABILITIES_LAYER, p_real
from model.ela import add_ela
from model.errors import ModelError
from settings.params import Train, load
from tests.helpers import ROOT


def test_default_cnn4_contract():
    params = load("train", ROOT / "params.yaml")
    model = build_model(params, 36)
    assert model.input_shape == (None, 36, 36, 3)
    assert model.output_shape == (None, 1)
    assert model.count_params() <= 1_000_000
    check_size(model)
    assert model.get_layer("last_conv").__class__.__name__ == "Conv2D"
    convs = [layer.name for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    assert convs[-1] == "last_conv"
    pixels = np.random.default_rng(0).integers(0, 256, (3, 36, 36, 3), dtype=np.uint8)
    p = model(pixels, training=False).numpy()  # raw uint8 in, rescaled inside
    assert p.shape == (3, 1) and ((p >= 0) & (p <= 1)).all()
    same = model(pixels.astype(np.float32), training=False).numpy()
    np.testing.assert_allclose(p, same, rtol=1e-5)


def test_three_class_head():
    """Softmax over model.classes.CLASSES; P(real) read the same way as the sigmoid's."""
    model = build_model(Train(filters=[4, 8, 8, 8], dense=[8], classes=3), 36)
    assert model.output_shape == (None, 3)
    assert model.get_layer(LOGITS_LAYER).output.shape[-1] == len(CLASSES)
    assert model.get_layer(PROBABILITIES_LAYER).dtype_policy.compute_dtype == "float32"
    assert model.get_layer("last_conv") is not None
    pixels = np.random.default_rng(0).integers(0, 256, (4, 36, 36, 3), dtype=np.uint8)
    p = model(pixels, training=False).numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(p_real(p), p[:, 0])
    loss = loss_for(3)(np.array([0, 1, 2, 0]), p)  # labels are indices into CLASSES
    assert np.isfinite(float(loss))
    two = build_model(Train(filters=[4, 8, 8, 8], dense=[8], classes=2), 36)
    assert two.output_shape == (None, 1) and p_real(two(pixels).numpy()).shape == (4,)
    with pytest.raises(ModelError, match=r"^train.classes must be 2 or 3, got 4$"):
        build_model(Train(filters=[4, 8, 8, 8], dense=[8], classes=4), 36)


def test_parameter_budget_is_enforced():
    model = build_model(Train(filters=[64, 128, 256, 512], dense=[256]), 36)
    with pytest.raises(ModelError, match="over the 1,000,000 budget"):
        check_size(model)


def test_ela_channels():
    batch = np.random.default_rng(1).integers(0, 256, (2, 36, 36, 3), dtype=np.uint8)
    out = add_ela(batch)
    assert out.shape == (2, 36, 36, 6) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., :3], batch)
    assert out[..., 3:].any()
    with pytest.raises(ModelError, match="uint8"):
        add_ela(batch.astype(np.float32))
    model = build_model(Train(filters=[4, 8, 8, 8], dense=[8], ela=True), 36)
    assert model.input_shape == (None, 36, 36, 6)
    assert model(out, training=False).shape == (2, 1)


def test_pretrained_base_without_weights():
    params = Train(architecture="resnet50", weights="none", pretrained_image_size=32, dense=[8])
    model = build_model(params, 36)
    assert model.input_shape == (None, 36, 36, 3) and model.output_shape == (None, 1)
    assert model.get_layer("last_conv").output.shape[-1] == 256
    pixels = np.full((1, 36, 36, 3), 128, np.uint8)
    assert model(pixels, training=False).shape == (1, 1)


def test_imagenet_weights_offline_is_one_line(monkeypatch):
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise Exception(  # what get_file raises without a network
            "URL fetch failure on https://storage.googleapis.com/...: None -- "
            "[Errno -3] Temporary failure in name resolution"
        )

    monkeypatch.setattr(file_utils, "get_file", offline)
    params = Train(architecture="resnet50", weights="imagenet", pretrained_image_size=32)
    with pytest.raises(ModelError) as error:
        build_model(params, 36)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("ImageNet weights for resnet50 could not be downloaded (")
    assert message.endswith("connect, or set train.weights: none")


def test_ela_needs_cnn4():
    with pytest.raises(ModelError, match="train.ela needs architecture cnn4"):
        build_model(Train(architecture="resnet50", weights="none", ela=True), 36)
