"""devtools/finetune_search: fine-tuning stage 4 starts from the frozen recipe, so its
epoch 0 is the logistic head on the frozen early features (README "Web pictures")."""

from __future__ import annotations

import numpy as np

from devtools import finetune_search as ft
from model import backbone


def test_the_tuned_model_before_training_is_the_frozen_recipe():
    size = 64
    full = backbone.build(ft.NAME, image_size=size)
    rng = np.random.default_rng(0)
    pixels = rng.uniform(0, 255, (3, size, size, 3)).astype(np.float32)
    early = np.asarray(full(pixels, training=False)["early"])
    import keras

    front = keras.Model(full.input, full.get_layer(ft.tuned_stage_input(full)).output)
    maps = np.asarray(front(pixels, training=False))
    frozen_width = early.shape[1] - ft.tuned_width()
    mean, var = early.mean(0), early.var(0) + 1.0
    coef, bias = rng.normal(size=early.shape[1]), 0.3
    tuned = ft.tuned_model(full, mean, var, coef, bias)
    logits = np.asarray(tuned([maps, early[:, :frozen_width]], training=False)).reshape(-1)
    expected = (early - mean) / np.sqrt(var) @ coef + bias
    np.testing.assert_allclose(logits, expected, rtol=1e-3, atol=1e-3)
    batch_norms = [layer for layer in tuned.layers if "bn" in layer.name]
    assert batch_norms and not any(layer.trainable for layer in batch_norms)
    assert tuned.get_layer("logit").trainable  # and stage 4's convolutions train
    assert any(layer.trainable and layer.weights for layer in tuned.layers if "conv" in layer.name)
