"""A view's Keras model behind a `tf.function` with a fixed input signature (one trace
serves every batch size; a call costs about a millisecond, where model.predict costs
~90 ms of set-up), and Grad-CAM on the whole view's `last_conv`."""

from __future__ import annotations

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from dataset.views import WHOLE  # noqa: E402
from model import published  # noqa: E402


class KerasEngine:
    def __init__(self, model: keras.Model, name: str, spec: dict):
        published.check_model(model, name, spec)
        self.model = model
        self.size = int(spec["image_size"])
        self.temperature = float(spec["temperature"])
        self.threshold = float(spec["threshold"])
        channels = 6 if spec.get("input") == "rgb+ela" else 3
        # Keras functional models cast inputs themselves, but cast to the declared dtype
        # so a uint8-input model and a float32-input model both get what they expect.
        self._input_dtype = tf.as_dtype(model.inputs[0].dtype)
        self.three = published.class_names(spec) is not None
        logit = model.get_layer(published.logit_layer(spec)).output
        self._logit_model = keras.Model(model.inputs, logit)
        signature = [tf.TensorSpec([None, self.size, self.size, channels], tf.uint8)]
        self._logits = tf.function(self._logits_graph, input_signature=signature)
        if name == WHOLE:
            conv = model.get_layer(published.CAM_LAYER).output
            self._cam_model = keras.Model(model.inputs, [conv, logit])
            self._cam = tf.function(self._cam_graph, input_signature=signature)
            self.gradcam = self._gradcam

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """(N,) logits, or (N, 3) for a three-class view."""
        out = self._logits(tf.constant(batch)).numpy()
        return out if self.three else out.reshape(-1)

    def _gradcam(self, batch: np.ndarray) -> np.ndarray:
        return self._cam(tf.constant(batch)).numpy()

    def _logits_graph(self, x):
        return self._logit_model(tf.cast(x, self._input_dtype), training=False)

    def _cam_graph(self, x):
        x = tf.cast(x, self._input_dtype)
        with tf.GradientTape() as tape:
            conv, logit = self._cam_model(x, training=False)
            tape.watch(conv)
            logit = logit / self.temperature  # calibrated p_real = sigmoid of this
            if self.three:  # log P(real) - log P(modified or ai), CLASSES[0] being real
                logit = logit[:, :1] - tf.reduce_logsumexp(logit[:, 1:], axis=1, keepdims=True)
            cut = math.log(self.threshold / (1.0 - self.threshold))
            score = tf.where(logit >= cut, logit, -logit)
        grads = tape.gradient(score, conv)
        weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * conv, axis=-1, keepdims=True))
        cam = tf.image.resize(cam, (self.size, self.size), method="bilinear")[..., 0]
        peak = tf.reduce_max(cam, axis=(1, 2), keepdims=True)
        # An all-zero map (no positive evidence) stays zero rather than dividing by 0.
        return tf.math.divide_no_nan(cam, peak)
