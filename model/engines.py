"""What runs a published view: its spec and calibration (View), and its engine, Keras
behind a tf.function (model/serve_keras.py) or numpy (model/numpy_net.py). TensorFlow
is imported only when a Keras engine is built."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dataset.imaging import resize_image
from dataset.views import WEB, WHOLE, square_crops
from model import published
from model.classes import probabilities
from model.errors import ModelError
from model.published import BUILD_HINT

# Pixels per model call (1024 pictures of 36 x 36): bounds memory for large batches
# whatever the view's size. A 224 x 224 web view gets 26 pictures a call; a batch of 256
# in one call took 2.5 GB more than one of 32, and was no faster (devtools.measure).
CHUNK_PIXELS = 1024 * 36 * 36
# The view's figures a verdict carries (the verdict page shows them).
RELIABILITY_KEYS = (
    "n", "accuracy", "accuracy_ci", "roc_auc", "roc_auc_ci", "ece_after", "small_web",
)  # fmt: skip


class View:
    """One view's spec, calibration and engine (Keras with tf.function, or numpy)."""

    def __init__(self, name: str, spec: dict, engine):
        self.name, self.spec, self.engine = name, spec, engine
        self.size = int(spec["image_size"])
        self.crops = spec.get("crops")  # the web view's squares per picture, at most
        self.temperature = float(spec["temperature"])
        self.threshold = float(spec["threshold"])
        self.ela = spec.get("input") == "rgb+ela"
        self.channels = 6 if self.ela else 3
        self.classes = published.class_names(spec)  # None: the two-class sigmoid head
        self.calibrated = published.is_calibrated(name, spec)
        metrics = spec.get("metrics") or {}
        self.reliability = {k: metrics[k] for k in RELIABILITY_KEYS if k in metrics}
        # How often verdicts of each confidence were right on pictures of sources held
        # out of training (the web view), and the band measured from it (the card's).
        self.confidence_table = [
            row for row in metrics.get("confidence_table") or [] if isinstance(row, dict)
        ]
        self.measured_band = float(spec.get("uncertain_band") or 0.0)
        self.model = getattr(engine, "model", None)  # the Keras model, if Keras runs it
        self.chunk = max(1, CHUNK_PIXELS // (self.size * self.size))

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """(N, S, S, C) uint8 -> (N,) float64 logits ((N, 3) for a three-class view), in
        chunks, by direct calls."""
        if not len(batch):
            return np.zeros((0, len(self.classes)) if self.classes else 0)
        return np.concatenate(
            [
                self.engine.logits(batch[i : i + self.chunk])
                for i in range(0, len(batch), self.chunk)
            ]
        ).astype(np.float64)

    def pixels(self, rgb: np.ndarray) -> np.ndarray:
        """A decoded picture as this view's input rows (k, S, S, 3): its square crops
        (the web view, dataset.views.square_crops), or the picture resized to S x S."""
        if self.crops:
            return square_crops(rgb, self.size, self.crops)
        return resize_image(rgb, self.size)[None]

    def p_real(self, logits) -> np.ndarray:
        return published.calibrate(logits, self.temperature)

    def right_at(self, p_real: float) -> dict | None:
        """The confidence table's row for a verdict of this p_real: {low, high, n, right}."""
        confidence = max(p_real, 1 - p_real)
        for row in self.confidence_table:
            last = row.get("high", 1.0) >= 1.0
            if row.get("low", 0) <= confidence and (confidence < row.get("high", 1.0) or last):
                return row
        return None

    def probabilities(self, logits) -> np.ndarray | None:
        """(N, 3) calibrated class probabilities in self.classes' order; None for two."""
        if not self.classes:
            return None
        return probabilities(np.asarray(logits).reshape(-1, len(self.classes)), self.temperature)


def keras_engine(folder: Path, name: str, spec: dict):
    from model.serve_keras import KerasEngine

    return KerasEngine(published.load_model(folder, name, spec), name, spec)


def numpy_engine(folder: Path, name: str, spec: dict):
    """The view's network in numpy, or its Keras engine when numpy cannot run it (a web
    view on other features than the backbone's early blocks, an unknown layer)."""
    from model.numpy_net import NumpyNet, Unsupported

    path = Path(folder) / spec["file"]
    if name == WEB:
        from model.numpy_backbone import web_engine

        if not path.is_file():
            raise ModelError(f"{path} not found; {BUILD_HINT}")
        try:
            return web_engine(path, spec)
        except Unsupported:
            return keras_engine(folder, name, spec)
    if not path.is_file():
        raise ModelError(f"{path} not found; {BUILD_HINT}")
    try:
        if spec.get("input") == "rgb+ela":
            raise Unsupported("ELA input")
        net = NumpyNet.load(path, stop_at=published.logit_layer(spec))
    except Unsupported:
        return keras_engine(folder, name, spec)
    size = spec["image_size"]
    if net.input_shape != (size, size, 3):
        raise ModelError(
            f"the {name} view's model takes {net.input_shape}, its card says ({size}, {size}, 3)"
        )
    logit = published.logit_layer(spec)
    needed = (logit, published.CAM_LAYER) if name == WHOLE else (logit,)
    for layer in needed:
        if layer not in net.layer_names:
            raise ModelError(f"the {name} view's model has no layer named {layer!r}")
    return net
