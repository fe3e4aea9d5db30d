"""Serve the published model: bytes or pixels in, calibrated p_real out, fast.

`Predictor.load(folder)` reads `model.keras` and `model_card.json` (written by the
publish stage) and checks the contract this module relies on. Predictions go
through a `tf.function` with a fixed input signature: one trace serves every batch
size, and a call costs about a millisecond, where `model.predict` costs ~90 ms of
per-call set-up. Pixels always come from `dataset.imaging.load_image`, the same
function training saw.


"""

from __future__ import annotations

import io
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from dataset.imaging import load_image  # noqa: E402
from model.errors import ModelError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR_ENV = "REALORAI_MODEL_DIR"
MODEL_FILE = "model.keras"
CARD_FILE = "model_card.json"
BUILD_HINT = "build it with `make pipeline-offline` (or `dvc repro`)"
DEFAULT_BAND = 0.2  # params.yaml app.uncertain_band
CHUNK = 1024  # images per model call: bounds memory for large batches
VERDICTS = ("real", "ai", "uncertain")


def default_model_dir() -> Path:
    """$REALORAI_MODEL_DIR, else published/ at the repository root."""
    return Path(os.environ.get(MODEL_DIR_ENV) or ROOT / "published")


@dataclass(frozen=True)
class Prediction:
    p_real: float  # calibrated probability that the picture is a real photograph
    label: str  # "real" or "ai": p_real against the card's threshold
    verdict: str  # label, or "uncertain" inside the band around the threshold
    milliseconds: float  # decode + resize + model
    pixels: np.ndarray | None = field(default=None, repr=False, compare=False)  # what it saw


class Predictor:
    """A loaded model with its card; thread-safe for prediction (Streamlit sessions share one)."""

    def __init__(self, model: keras.Model, card: dict, *, uncertain_band: float = DEFAULT_BAND):
        _check_model(model)
        self.model = model
        self.card = card
        self.size = int(model.input_shape[1])
        self.channels = int(model.input_shape[-1])
        self.ela = self.channels == 6
        _check_card(card, self.size, self.ela)
        self.temperature = float(card.get("temperature", 1.0))
        self.threshold = float(card.get("threshold", 0.5))
        if not 0.0 <= uncertain_band <= 1.0:
            raise ModelError(f"uncertain_band must be between 0 and 1, got {uncertain_band}")
        self.band = float(uncertain_band)

        logit = _logit_tensor(model)
        conv = model.get_layer("last_conv").output
        # Keras functional models cast inputs themselves, but cast to the declared dtype
        # so a uint8-input model and a float32-input model both get what they expect.
        self._input_dtype = tf.as_dtype(model.inputs[0].dtype)
        self._logit_model = keras.Model(model.inputs, logit)
        self._cam_model = keras.Model(model.inputs, [conv, logit])
        spec = tf.TensorSpec([None, self.size, self.size, self.channels], tf.uint8)
        self._logits = tf.function(self._logits_graph, input_signature=[spec])
        self._cam = tf.function(self._cam_graph, input_signature=[spec])

    # --- loading ---

    @classmethod
    def load(
        cls,
        model_dir: Path | str | None = None,
        *,
        uncertain_band: float | None = None,
        warm_up: bool = True,
    ) -> Predictor:
        """Load `model_dir` (default: default_model_dir()); one-line ModelError if unusable.

        uncertain_band None reads params.yaml app.uncertain_band. warm_up traces the
        prediction function now, so the first real request does not pay ~1 s for it.
        """
        folder = Path(model_dir) if model_dir is not None else default_model_dir()
        if uncertain_band is None:
            uncertain_band = _band_from_params()
        if not folder.is_dir():
            raise ModelError(f"no model folder at {folder}; {BUILD_HINT}")
        card = read_card(folder)
        model = _read_model(folder / MODEL_FILE)
        predictor = cls(model, card, uncertain_band=uncertain_band)
        if warm_up:
            predictor.warm_up()
        return predictor

    def warm_up(self, gradcam: bool = False) -> None:
        """Trace the model call and load the decoders: the first visitor waits for neither."""
        from PIL import Image

        # Shrinking and enlarging both: OpenCV sets up each interpolation on first use.
        for side, fmt in ((4 * self.size, "JPEG"), (self.size // 2, "PNG")):
            buffer = io.BytesIO()
            Image.new("RGB", (side, side)).save(buffer, fmt)
            self.predict_bytes(buffer.getvalue())
        if gradcam:
            self.gradcam(np.zeros((self.size, self.size, 3), np.uint8))

    # --- prediction ---

    def predict_pixels(self, batch: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 RGB from load_image -> (N,) calibrated p_real, float64."""
        batch = self._check_pixels(batch)
        if not len(batch):
            return np.zeros(0)
        logits = np.concatenate(
            [
                self._logits(tf.constant(self.model_input(batch[i : i + CHUNK]))).numpy()
                for i in range(0, len(batch), CHUNK)
            ]
        )
        return sigmoid(logits.reshape(-1).astype(np.float64) / self.temperature)

    def predict_bytes(self, data: bytes, **limits) -> Prediction:
        """Image bytes -> Prediction; ImageError (one line) if they are not a usable picture.

        `limits` go to load_image (max_bytes, max_pixels).
        """
        start = time.perf_counter()
        pixels = load_image(data, self.size, **limits)
        p_real = float(self.predict_pixels(pixels[None])[0])
        milliseconds = (time.perf_counter() - start) * 1000
        return self.prediction(p_real, milliseconds, pixels)

    def prediction(self, p_real: float, milliseconds: float, pixels=None) -> Prediction:
        label, verdict = self.classify(p_real)
        return Prediction(p_real, label, verdict, milliseconds, pixels)

    def classify(self, p_real: float) -> tuple[str, str]:
        """(label, verdict): the band is centred on the threshold (0.5 unless the card says)."""
        label = "real" if p_real >= self.threshold else "ai"
        uncertain = abs(p_real - self.threshold) < self.band / 2
        return label, "uncertain" if uncertain else label

    def gradcam(self, pixels: np.ndarray) -> np.ndarray:
        """Grad-CAM on `last_conv` for one (S, S, 3) picture -> (S, S) float32 in 0..1.

        It shows where the evidence for the predicted label lies: the gradient of the
        logit when the model says real, of minus the logit when it says ai.
        """
        pixels = self._check_pixels(pixels)
        if len(pixels) != 1:
            raise ModelError(f"gradcam takes one picture, got {len(pixels)}")
        heat = self._cam(tf.constant(self.model_input(pixels))).numpy()[0]
        return np.clip(heat, 0.0, 1.0).astype(np.float32)

    # --- internals ---

    def _logits_graph(self, x):
        return self._logit_model(tf.cast(x, self._input_dtype), training=False)

    def _cam_graph(self, x):
        x = tf.cast(x, self._input_dtype)
        with tf.GradientTape() as tape:
            conv, logit = self._cam_model(x, training=False)
            tape.watch(conv)
            # calibrated p >= threshold  <=>  logit >= T * logit(threshold), T > 0
            cut = self.temperature * math.log(self.threshold / (1.0 - self.threshold))
            score = tf.where(logit >= cut, logit, -logit)
        grads = tape.gradient(score, conv)
        weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * conv, axis=-1, keepdims=True))
        cam = tf.image.resize(cam, (self.size, self.size), method="bilinear")[..., 0]
        peak = tf.reduce_max(cam, axis=(1, 2), keepdims=True)
        # An all-zero map (no positive evidence) stays zero rather than dividing by 0.
        return tf.math.divide_no_nan(cam, peak)

    def _check_pixels(self, batch) -> np.ndarray:
        batch = np.asarray(batch)
        if batch.ndim == 3:
            batch = batch[None]
        expected = (self.size, self.size, 3)
        if batch.ndim != 4 or batch.shape[1:] != expected or batch.dtype != np.uint8:
            raise ModelError(
                f"expected uint8 pixels of shape (N, {self.size}, {self.size}, 3) from "
                f"dataset.imaging.load_image, got {batch.shape} {batch.dtype}"
            )
        return batch

    def model_input(self, batch: np.ndarray) -> np.ndarray:
        """What the network takes for checked uint8 pixels: the same, or with ELA channels."""
        if not self.ela:
            return batch
        from model.ela import add_ela  # only ELA models need it (and its JPEG round trip)

        return add_ela(batch)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def read_card(folder: Path) -> dict:
    path = Path(folder) / CARD_FILE
    if not path.is_file():
        raise ModelError(f"{path} not found; {BUILD_HINT}")
    try:
        card = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ModelError(f"{path} is not readable JSON ({_first_line(e)})") from None
    if not isinstance(card, dict):
        raise ModelError(f"{path} must hold a JSON object")
    return card


def _read_model(path: Path) -> keras.Model:
    if not path.is_file():
        raise ModelError(f"{path} not found; {BUILD_HINT}")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as e:  # noqa: BLE001 - zip, h5, JSON and Keras errors all mean "unreadable"
        raise ModelError(f"cannot load {path} ({_first_line(e)})") from None


def _check_model(model) -> None:
    shape = tuple(model.input_shape)
    if len(shape) != 4 or shape[1] != shape[2] or shape[3] not in (3, 6):
        raise ModelError(f"model input must be (S, S, 3) or (S, S, 6), got {shape[1:]}")
    if tuple(model.output_shape[1:]) != (1,):
        raise ModelError(f"model output must be (N, 1), got {model.output_shape}")
    if "last_conv" not in {layer.name for layer in model.layers}:
        raise ModelError("model has no layer named 'last_conv' (Grad-CAM reads it)")


def _check_card(card: dict, size: int, ela: bool) -> None:
    if card.get("image_size", size) != size:
        raise ModelError(f"model card says image_size {card['image_size']}, the model takes {size}")
    wanted = "rgb+ela" if ela else "rgb"
    if card.get("input", wanted) != wanted:
        raise ModelError(f"model card says input {card['input']!r}, the model takes {wanted!r}")
    temperature = card.get("temperature", 1.0)
    if not isinstance(temperature, (int, float)) or not 0 < temperature < math.inf:
        raise ModelError(f"model card temperature must be a positive number, got {temperature!r}")
    threshold = card.get("threshold", 0.5)
    if not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise ModelError(f"model card threshold must be between 0 and 1, got {threshold!r}")


def _logit_tensor(model):
    """The layer `logit` (before the sigmoid); else the logit recovered from p_real."""
    try:
        return model.get_layer("logit").output
    except ValueError:
        # Older or hand-made models: invert the sigmoid (loses precision only when
        # p is within 1e-7 of 0 or 1, where the verdict is not in doubt anyway).
        p = keras.ops.clip(model.output, 1e-7, 1 - 1e-7)
        return keras.ops.log(p) - keras.ops.log1p(-p)


def _band_from_params() -> float:
    from settings import params

    return params.load("app", ROOT / "params.yaml").uncertain_band


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:160]
