"""Serve the published model: bytes in, calibrated p_real out, fast and thread-safe.

`Predictor.load(folder)` reads the card and the view models through model/published.py
(the contract's one owner). A picture is decoded once, routed by its longer side, and
judged by one view:
- whole: the picture resized to S x S (dataset.imaging's rule), one model call;
- web: the picture resized to S x S (S = 224, the same rule), one call of the pretrained
  backbone joined to the published head (model/web_view.py).
A three-class view (real, modified, ai) gives its three calibrated probabilities too;
p_real is the first of them, so every consumer reads the same field either way.
Model calls go through a `tf.function` with a fixed input signature: one trace serves
every batch size, and a call costs about a millisecond (model.predict ~90 ms).

TensorFlow is imported only when a Keras engine is built: `Predictor.load(...,
engine="numpy")` runs the whole view with model/numpy_net.py instead (no Grad-CAM),
which is how the app gives its first CIFAKE-sized verdicts while TensorFlow is still
importing; the web view always runs in Keras.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dataset.imaging import decode_image
from dataset.views import WEB, WHOLE
from model import published, region_map
from model.classes import MODIFIED
from model.engines import RELIABILITY_KEYS, View, keras_engine, numpy_engine  # noqa: F401
from model.errors import ModelError
from model.published import BUILD_HINT, CARD_FILE, MODEL_FILE, shown, sigmoid  # noqa: F401
from model.region_map import RegionMap

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ENGINES = ("keras", "numpy")

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR_ENV = "REALORAI_MODEL_DIR"
DEFAULT_BAND = 0.2  # params.yaml app.uncertain_band
VERDICTS = ("real", "ai", "uncertain")


def default_model_dir() -> Path:
    """$REALORAI_MODEL_DIR, else published/ at the repository root."""
    return Path(os.environ.get(MODEL_DIR_ENV) or ROOT / "published")


@dataclass(frozen=True)
class Prediction:
    p_real: float  # p_real as judged (sigmoid(logit / T)); shown rounded to DECIMALS
    label: str  # "real" or "ai": the shown p_real against the view's threshold
    verdict: str  # label, or "uncertain" inside the band around the threshold
    milliseconds: float  # decode + resize + model
    view: str = WHOLE  # "whole" or "web": which model judged it
    kind: str = ""  # what kind of picture that view is for, e.g. "web picture"
    reliability: dict = field(default_factory=dict, compare=False)  # the view's test figures
    calibrated: bool = False  # calibration measured on this kind of picture
    pixels: np.ndarray | None = field(default=None, repr=False, compare=False)  # whole view
    # A three-class view's calibrated probabilities by class name (model.classes order).
    probabilities: dict[str, float] | None = field(default=None, compare=False)
    # How often verdicts this confident were right on pictures of sources held out of
    # training: {low, high, n, right} (the web view's confidence table), else None.
    right_at: dict | None = field(default=None, compare=False)

    @property
    def shown(self) -> float:
        return shown(self.p_real)


@dataclass
class Prepared:
    """One decoded picture, routed, as its view's model input (N, S, S, C)."""

    view: str
    inputs: np.ndarray
    pixels: np.ndarray | None  # the whole view's uint8 pixels (for Grad-CAM)
    seconds: float  # decoding and resizing
    made_for: str = ""  # the view made for this picture's size (absent from one-view cards)


class Predictor:
    """The published views with their card; thread-safe (Streamlit sessions share one)."""

    def __init__(self, card: dict, engines: dict, *, uncertain_band: float = DEFAULT_BAND):
        self.card = published.check_card(card)
        missing = sorted(set(self.card["views"]) - set(engines))
        if missing:
            raise ModelError(f"no model given for the {missing[0]} view")
        self.views = {
            name: View(name, spec, engines[name]) for name, spec in self.card["views"].items()
        }
        if not 0.0 <= uncertain_band <= 1.0:
            raise ModelError(f"uncertain_band must be between 0 and 1, got {uncertain_band}")
        self.band = float(uncertain_band)
        self.whole = self.views.get(WHOLE)
        main = self.whole or self.views[WEB]
        # The whole view's figures, kept for callers that batch S x S pixels themselves.
        self.model, self.size, self.channels = main.model, main.size, main.channels
        self.ela = main.ela
        self.temperature, self.threshold = main.temperature, main.threshold
        self._decode_side = max(v.size for v in self.views.values())

    # --- loading ---

    @classmethod
    def load(
        cls,
        model_dir: Path | str | None = None,
        *,
        uncertain_band: float | None = None,
        warm_up: bool = True,
        engine: str = "keras",
    ) -> Predictor:
        """Load `model_dir` (default: default_model_dir()); one-line ModelError if unusable.

        uncertain_band None reads params.yaml app.uncertain_band. warm_up traces the
        model calls now, so the first real request does not pay ~1 s for them. engine
        "numpy" avoids importing TensorFlow where model/numpy_net.py can run a view.
        """
        if engine not in ENGINES:
            raise ModelError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
        folder = Path(model_dir) if model_dir is not None else default_model_dir()
        if uncertain_band is None:
            uncertain_band = _band_from_params()
        if not folder.is_dir():
            raise ModelError(f"no model folder at {folder}; {BUILD_HINT}")
        card = published.read_card(folder)
        make = numpy_engine if engine == "numpy" else keras_engine
        engines = {name: make(folder, name, spec) for name, spec in card["views"].items()}
        predictor = cls(card, engines, uncertain_band=uncertain_band)
        if warm_up:
            predictor.warm_up()
        return predictor

    def warm_up(self, gradcam: bool = False) -> None:
        """Trace each view's call and load the decoders: the first visitor waits for neither."""
        from PIL import Image

        # A small and a large picture (both views), shrinking and enlarging.
        for side, fmt in ((4 * self._decode_side, "JPEG"), (max(8, self.size // 2), "PNG")):
            buffer = io.BytesIO()
            Image.new("RGB", (side, side)).save(buffer, fmt)
            self.predict_bytes(buffer.getvalue())
        for view in self.views.values():
            view.logits(np.zeros((1, view.size, view.size, view.channels), np.uint8))
        if gradcam and self.has_gradcam:
            self.gradcam(np.zeros((self.size, self.size, 3), np.uint8))

    # --- prediction ---

    def prepare(self, data: bytes, **limits) -> Prepared:
        """Decode, route and cut one picture; ImageError (one line) if not a usable picture.

        `limits` go to the decoder (max_bytes, max_pixels).
        """
        start = time.perf_counter()
        # JPEG may decode at a reduced scale that keeps both sides >= the largest side a
        # view needs: a picture larger than whole_max_side stays larger, so routing holds.
        rgb = decode_image(data, shrink_to=self._decode_side, **limits)
        name = published.route(rgb.shape[0], rgb.shape[1], self.card)
        made_for = published.kind_of(rgb.shape[0], rgb.shape[1], self.card)
        rows = self.views[name].pixels(rgb)
        if name == WHOLE:
            inputs, pixels = self.model_input(rows), rows[0]
        else:
            inputs, pixels = rows, None
        return Prepared(name, inputs, pixels, time.perf_counter() - start, made_for)

    def score(self, items: list[Prepared]) -> list[Prediction]:
        """Predictions for prepared pictures: one batched model call per view."""
        out: list[Prediction | None] = [None] * len(items)
        for name, view in self.views.items():
            mine = [i for i, item in enumerate(items) if item.view == name]
            if not mine:
                continue
            start = time.perf_counter()
            logits = view.logits(np.concatenate([items[i].inputs for i in mine]))
            share = (time.perf_counter() - start) / len(mine)
            offset = 0
            for i in mine:
                n = len(items[i].inputs)
                # A web picture's crops: the mean of their logits is the linear head on
                # the mean of their features, which is what it was trained on.
                part = logits[offset : offset + n].mean(axis=0, keepdims=True)
                offset += n
                p_real = float(view.p_real(part)[0])
                ms = (items[i].seconds + share) * 1000
                out[i] = self.prediction(
                    p_real, ms, view=name, pixels=items[i].pixels,
                    made_for=items[i].made_for, probabilities=_named(view, part),
                )  # fmt: skip
        return out

    def predict_bytes(self, data: bytes, **limits) -> Prediction:
        """Image bytes -> Prediction; ImageError (one line) if they are not a usable picture."""
        start = time.perf_counter()
        prediction = self.score([self.prepare(data, **limits)])[0]
        milliseconds = (time.perf_counter() - start) * 1000
        return _replace(prediction, milliseconds=milliseconds)

    def predict_pixels(self, batch: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 pictures already at the whole view's size -> (N,) p_real."""
        view = self.whole or self.views[WEB]
        batch = self._check_pixels(batch)
        return view.p_real(view.logits(self.model_input(batch)))

    def prediction(
        self, p_real: float, milliseconds: float, *, view: str | None = None, pixels=None,
        made_for: str = "", probabilities: dict | None = None,
    ) -> Prediction:  # fmt: skip
        """The verdict with the figures of the view that judged it, when that view was
        made (and measured) for this kind of picture; a one-view card judging the other
        kind says so: no figures, not calibrated."""
        name = view or (WHOLE if self.whole else WEB)
        v = self.views[name]
        label, verdict = self.classify(p_real, view=name)
        if made_for and made_for != name:
            kind, reliability, calibrated = published.DEFAULT_KINDS[made_for], {}, False
            right_at = None
        else:
            kind, reliability, calibrated = v.spec["kind"], v.reliability, v.calibrated
            right_at = v.right_at(shown(p_real))
        return Prediction(
            p_real, label, verdict, milliseconds, view=name, kind=kind,
            reliability=reliability, calibrated=calibrated, pixels=pixels,
            probabilities=probabilities, right_at=right_at,
        )  # fmt: skip

    def classify(self, p_real: float, view: str | None = None) -> tuple[str, str]:
        """(label, verdict) from p_real as shown (three decimals): a p_real of 0.3996 is
        shown 0.400, and so is inside a 0.40-0.60 band. The band is centred on the view's
        threshold and includes its edges."""
        threshold = self.views[view].threshold if view else self.threshold
        value = shown(p_real)
        label = "real" if value >= threshold else "ai"
        uncertain = abs(value - threshold) <= self.band_of(view) / 2 + 1e-9
        return label, "uncertain" if uncertain else label

    def band_of(self, view: str | None = None) -> float:
        """The "not sure" band's width: the setting, or wider where the card measured
        that verdicts closer to the threshold were right too rarely (the web view)."""
        measured = self.views[view].measured_band if view else 0.0
        return max(self.band, measured)

    def band_edges(self, view: str | None = None) -> tuple[float, float]:
        threshold = self.views[view].threshold if view else self.threshold
        half = self.band_of(view) / 2
        return max(0.0, threshold - half), min(1.0, threshold + half)

    @property
    def classes(self) -> tuple[str, ...] | None:
        """The class names of the views' probabilities when a view has three classes."""
        return next((v.classes for v in self.views.values() if v.classes), None)

    def region_map(self, pixels: np.ndarray) -> RegionMap:
        """Where one whole-view (S, S, 3) picture looks edited: the occlusion map
        (model/region_map.py) of P(modified), or of 1 - p_real for a two-class model.
        Any engine draws it (it needs only the model's answers)."""
        if self.whole is None:
            raise ModelError("the region map needs a whole view")
        pixels = self._check_pixels(pixels)
        if len(pixels) != 1:
            raise ModelError(f"region_map takes one picture, got {len(pixels)}")
        view = self.whole

        def score(batch: np.ndarray) -> np.ndarray:
            logits = view.logits(self.model_input(batch))
            if view.classes:
                return view.probabilities(logits)[:, MODIFIED]
            return 1.0 - view.p_real(logits)

        target = region_map.MODIFIED_TARGET if view.classes else region_map.NOT_REAL_TARGET
        return region_map.occlusion_map(score, pixels[0], target)

    @property
    def has_gradcam(self) -> bool:
        return self.whole is not None and hasattr(self.whole.engine, "gradcam")

    def gradcam(self, pixels: np.ndarray) -> np.ndarray:
        """Grad-CAM on `last_conv` for one whole-view (S, S, 3) picture -> (S, S) in 0..1.

        It shows where the evidence for the predicted label lies: the gradient of the
        logit when the model says real, of minus the logit when it says ai.
        """
        if not self.has_gradcam:
            raise ModelError("Grad-CAM needs the whole view run by Keras (engine='keras')")
        pixels = self._check_pixels(pixels)
        if len(pixels) != 1:
            raise ModelError(f"gradcam takes one picture, got {len(pixels)}")
        heat = self.whole.engine.gradcam(self.model_input(pixels))[0]
        return np.clip(heat, 0.0, 1.0).astype(np.float32)

    # --- internals ---

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
        """What the whole view's network takes: the pixels, or with ELA channels."""
        if not self.ela:
            return batch
        from model.ela import add_ela  # only ELA models need it (and its JPEG round trip)

        return add_ela(batch)


def read_card(folder: Path | str) -> dict:
    """The checked card (model/published.py)."""
    return published.read_card(folder)


def _named(view: View, logits: np.ndarray) -> dict[str, float] | None:
    """A three-class view's calibrated probabilities of one picture, by class name."""
    if not view.classes:
        return None
    return dict(zip(view.classes, map(float, view.probabilities(logits)[0]), strict=True))


def _replace(prediction: Prediction, **changes) -> Prediction:
    from dataclasses import replace

    return replace(prediction, **changes)


def _band_from_params() -> float:
    from settings import params

    return params.load("app", ROOT / "params.yaml").uncertain_band
