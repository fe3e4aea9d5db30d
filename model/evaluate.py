"""Test-set evaluation: metrics, curves, calibration, per-source and robustness tables.

Everything is computed from logits (the layer `logit`, before the sigmoid), so a
fitted temperature T gives calibrated p_real = sigmoid(logit / T). T is fitted on
the validation split, never on test. A three-class model's `logits` (N, 3) get one
temperature for the softmax (fit_softmax_temperature) and its p_real is P(real) of
softmax(logits / T), so the two-class tables below read either model.
"""

from __future__ import annotations

import io
import math

import cv2
import keras
import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw
from scipy.optimize import minimize_scalar
from sklearn import metrics as skm

from dataset.imaging import resize_image
from dataset.prepared import LABELS, Split
from model.classes import LOGITS_LAYER, probabilities
from model.classes import p_real as real_of
from model.data import with_ela
from model.errors import ModelError
from model.intervals import with_intervals
from settings.errors import first_line

BATCH = 1024
THRESHOLD = 0.5
ROBUSTNESS_SAMPLE = 5000  # test pictures per edit: +-0.3% accuracy, and minutes not hours
CURVE_POINTS = 1000


def load_trained(path) -> keras.Model:
    try:
        # compile=False: no optimizer state is needed (or published) for scoring
        return keras.saving.load_model(path, compile=False)
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot load {path} ({first_line(e, 120)})") from None


class Scorer:
    """Logits of a model for uint8 RGB batches, by direct calls (predict() has a large
    per-call set-up cost; make bench measures it)."""

    def __init__(self, model: keras.Model):
        names = {layer.name for layer in model.layers}
        self.classes = 3 if LOGITS_LAYER in names and "logit" not in names else 2
        try:
            logit = model.get_layer("logit" if self.classes == 2 else LOGITS_LAYER).output
        except ValueError:
            raise ModelError("the model has no layer named 'logit'") from None
        self.ela = model.input_shape[-1] == 6
        self.size = model.input_shape[1]
        self.logit_model = keras.Model(model.inputs, logit)
        self.call = tf.function(
            lambda x: self.logit_model(x, training=False), reduce_retracing=True
        )

    def logits(self, x: np.ndarray) -> np.ndarray:
        if x.shape[1] != self.size:
            raise ModelError(f"the model takes {self.size}px pictures, the data is {x.shape[1]}px")
        out = [
            self.call(tf.constant(with_ela(x[i : i + BATCH], self.ela))).numpy()
            for i in range(0, len(x), BATCH)
        ]
        out = np.concatenate(out) if out else np.zeros((0, 1 if self.classes == 2 else 3))
        return (out.reshape(-1) if self.classes == 2 else out).astype(np.float64)

    def p_real(self, x: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """P(real) of uint8 pictures after a temperature, from either head."""
        return p_real_of(self.logits(x), temperature)


def p_real_of(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """sigmoid(logit / T), or P(real) of softmax(logits / T) for (N, 3) logits."""
    logits = np.asarray(logits, np.float64)
    if logits.ndim == 2:
        return real_of(probabilities(logits, temperature))
    return sigmoid(logits / temperature)


def fit_softmax_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 minimising the validation negative log-likelihood of softmax(logits / T);
    labels are indices into model.classes.CLASSES."""
    logits, labels = np.asarray(logits, np.float64), np.asarray(labels, np.int64)

    def nll(log_t):
        z = logits / math.exp(log_t)
        top = z.max(axis=1)
        log_total = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
        return float(np.mean(log_total - z[np.arange(len(z)), labels]))

    best = minimize_scalar(nll, bounds=(math.log(0.05), math.log(20.0)), method="bounded")
    return float(math.exp(best.x))


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The T > 0 minimising the validation negative log-likelihood of sigmoid(logit / T)."""

    def nll(log_t):
        z = logits / math.exp(log_t)
        # log(1 + e^z) - y z, computed stably
        return float(np.mean(np.logaddexp(0.0, z) - y * z))

    best = minimize_scalar(nll, bounds=(math.log(0.05), math.log(20.0)), method="bounded")
    return float(math.exp(best.x))


def reliability(p_real: np.ndarray, y: np.ndarray, bins: int) -> tuple[float, list[dict]]:
    """ECE and reliability bins on top-label confidence max(p, 1 - p), from 0.5 to 1."""
    predicted = (p_real >= THRESHOLD).astype(int)
    confidence = np.where(predicted == 1, p_real, 1.0 - p_real)
    correct = predicted == y
    edges = np.linspace(0.5, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        conf, acc = float(confidence[mask].mean()), float(correct[mask].mean())
        ece += mask.mean() * abs(acc - conf)
        rows.append({"confidence": conf, "accuracy": acc, "count": int(mask.sum())})
    return float(ece), rows


def scores(y: np.ndarray, p_real: np.ndarray) -> dict:
    """Accuracy, ROC-AUC, average precision, log loss and per-class precision/recall/F1."""
    predicted = (p_real >= THRESHOLD).astype(int)
    both = len(np.unique(y)) == 2
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        y, predicted, labels=[0, 1], zero_division=0
    )
    return {
        "n": int(len(y)),
        "accuracy": float(skm.accuracy_score(y, predicted)),
        "roc_auc": float(skm.roc_auc_score(y, p_real)) if both else None,
        "average_precision": float(skm.average_precision_score(y, p_real)) if both else None,
        "log_loss": float(skm.log_loss(y, np.clip(p_real, 1e-7, 1 - 1e-7), labels=[0, 1])),
        "precision": {LABELS[k]: float(precision[k]) for k in (0, 1)},
        "recall": {LABELS[k]: float(recall[k]) for k in (0, 1)},
        "f1": {LABELS[k]: float(f1[k]) for k in (0, 1)},
    }


def short_scores(y, p_real) -> dict:
    full = scores(y, p_real)
    return {k: full[k] for k in ("n", "accuracy", "roc_auc")}


def curves(y: np.ndarray, p_real: np.ndarray) -> dict:
    """ROC and precision-recall points (thinned to CURVE_POINTS) for DVC plots."""
    if len(np.unique(y)) < 2:
        return {"roc": [], "pr": []}
    fpr, tpr, roc_t = skm.roc_curve(y, p_real)
    precision, recall, pr_t = skm.precision_recall_curve(y, p_real)
    roc = [
        {"fpr": float(a), "tpr": float(b), "threshold": _finite(t)}
        for a, b, t in _thin(fpr, tpr, roc_t)
    ]
    pr = [
        {"precision": float(a), "recall": float(b), "threshold": _finite(t)}
        for a, b, t in _thin(precision[:-1], recall[:-1], pr_t)
    ]
    return {"roc": roc, "pr": pr}


def _thin(*columns, points=CURVE_POINTS):
    n = len(columns[0])
    keep = np.unique(np.linspace(0, n - 1, min(n, points)).round().astype(int))
    return zip(*(np.asarray(c)[keep] for c in columns), strict=True)


def _finite(value) -> float | None:
    return float(value) if np.isfinite(value) else None


def confusion(y: np.ndarray, p_real: np.ndarray) -> dict:
    matrix = skm.confusion_matrix(y, (p_real >= THRESHOLD).astype(int), labels=[0, 1])
    return {"labels": ["ai", "real"], "matrix": matrix.tolist()}


# --- robustness: the edits a picture meets online, applied to the S x S test pixels ---


def _jpeg(quality):
    def edit(x, rng):
        out = np.empty_like(x)
        for i, image in enumerate(x):
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, "JPEG", quality=quality)
            out[i] = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
        return out

    return edit


def _blur(x, rng):
    return np.stack([cv2.GaussianBlur(image, (0, 0), 1.0) for image in x])


def _half_size(x, rng):
    # The project's own resize both ways (area down, bicubic up), like a thumbnail re-upload.
    size = x.shape[1]
    return np.stack([resize_image(resize_image(image, size // 2), size) for image in x])


def _noise(x, rng):
    return np.clip(x + rng.normal(0.0, 8.0, x.shape), 0, 255).astype(np.uint8)


def _brightness(delta):
    def edit(x, rng):
        return np.clip(x.astype(np.int16) + delta, 0, 255).astype(np.uint8)

    return edit


EDITS = {
    "jpeg q90": _jpeg(90),
    "jpeg q70": _jpeg(70),
    "jpeg q50": _jpeg(50),
    "gaussian blur sigma 1": _blur,
    "half size and back": _half_size,
    "gaussian noise sigma 8": _noise,
    "brightness +32": _brightness(32),
    "brightness -32": _brightness(-32),
}


def robustness(scorer: Scorer, split: Split, seed: int = 0) -> list[dict]:
    """Accuracy and ROC-AUC after each edit, on a fixed sample of the test split."""
    rng = np.random.default_rng(seed)
    if len(split) > ROBUSTNESS_SAMPLE:
        split = split.subset(np.sort(rng.choice(len(split), ROBUSTNESS_SAMPLE, replace=False)))
    rows = [{"edit": "none", **short_scores(split.y, scorer.p_real(split.x))}]
    for name, edit in EDITS.items():
        p = scorer.p_real(edit(split.x, rng))
        rows.append({"edit": name, **short_scores(split.y, p)})
    return rows


def per_source(split: Split, p_real: np.ndarray, resamples: int = 1000) -> dict:
    """Scores of each source's pictures, accuracy and ROC-AUC with 95% intervals."""
    table = {}
    for source in sorted(set(split.source)):
        y, p = split.y[split.source == source], p_real[split.source == source]
        table[source] = {**scores(y, p), **with_intervals(y, p, resamples)}
    return table


def worst_mistakes(split: Split, p_real: np.ndarray, count: int) -> list[int]:
    """Indices of the wrong answers given with the most confidence, worst first."""
    wrong = np.flatnonzero((p_real >= THRESHOLD).astype(int) != split.y)
    confidence = np.abs(p_real[wrong] - 0.5)
    return wrong[np.argsort(-confidence, kind="stable")][:count].tolist()


def mistakes_grid(split: Split, p_real: np.ndarray, indices: list[int], columns=6, scale=3):
    """A PNG grid of pictures, each captioned with its true label and p_real."""
    size = split.x.shape[1] * scale
    cell_h = size + 14
    rows = max(1, math.ceil(len(indices) / columns))
    sheet = Image.new("RGB", (columns * size, rows * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    if not indices:
        draw.text((4, 4), "no mistakes", fill="black")
    for k, i in enumerate(indices):
        x0, y0 = (k % columns) * size, (k // columns) * cell_h
        picture = Image.fromarray(split.x[i]).resize((size, size), Image.NEAREST)
        sheet.paste(picture, (x0, y0))
        draw.text((x0 + 2, y0 + size), f"{LABELS[int(split.y[i])]} p={p_real[i]:.2f}", fill="black")
    return sheet
