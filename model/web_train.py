"""Train the web view's head: a linear head (logistic regression, or ranked within each
source group: model/ranking.py) on the frozen backbone's features of every
training-split web picture, calibrated on held-out groups.

The temperature and the confidence table come from the logo stage's out-of-fold
logits: each picture scored by a head that never saw its group, so "of pictures given
this confidence, so many were right" describes a source the model has not seen.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dataset.web import WebSet
from model.evaluate import fit_temperature, sigmoid
from model.logo import fit_linear

MODEL_DIR = Path("data/model_web")
HEAD_FILE = "head.keras"
CALIBRATION_FILE = "calibration.json"
CONFIDENCE_EDGES = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
# No firm verdict where held-out verdicts of that confidence were right less often than
# this: the "not sure" band is widened until every confidence outside it clears it.
MIN_RIGHT = 0.7


def fit_head(data: WebSet, features: list[str], C: float, head="logistic", alpha=0.1):
    """The fitted scikit-learn pipeline of params web.* (model.logo.fit_linear):
    StandardScaler, then LogisticRegression (C) or GroupRanking (head "rank", alpha)."""
    return fit_linear(data, features, head=head, C=C, alpha=alpha)


def export_head(fitted):
    """The fitted head as the Keras model publish ships (model/web_view.head_model)."""
    from model.web_view import head_model

    scaler, regression = fitted[0], fitted[-1]
    return head_model(scaler.mean_, scaler.scale_, regression.coef_[0], regression.intercept_[0])


def head_logits(head, x: np.ndarray) -> np.ndarray:
    """The Keras head's logits for features (N, D), by a direct call."""
    import keras

    logit = keras.Model(head.input, head.get_layer("logit").output)
    return np.asarray(logit(x.astype(np.float32), training=False), np.float64).reshape(-1)


def confidence_table(p_real: np.ndarray, y: np.ndarray, edges=CONFIDENCE_EDGES) -> list[dict]:
    """How often a verdict was right, by its confidence max(p, 1 - p): one row per band
    [low, high) (the last includes 1), with its count: what a verdict quotes."""
    said_real = p_real >= 0.5
    confidence = np.where(said_real, p_real, 1 - p_real)
    right = said_real == (y == 1)
    rows = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (confidence >= low) & ((confidence < high) | (high >= 1.0))
        n = int(inside.sum())
        rows.append({"low": low, "high": high, "n": n,
                     "right": round(float(right[inside].mean()), 4) if n else None})  # fmt: skip
    return rows


def measured_band(table: list[dict], min_right: float = MIN_RIGHT) -> float:
    """The narrowest "not sure" band (width in p_real around 0.5) outside which every
    confidence row with pictures was right at least `min_right` of the time; 1.0 (never
    sure) when no row clears it."""
    for row in table:
        above = [r for r in table if r["low"] >= row["low"] and r["n"]]
        if above and all(r["right"] >= min_right for r in above):
            return round(2 * (row["low"] - 0.5), 4)
    return 1.0


def calibrate(oof_logits: np.ndarray, y: np.ndarray, resamples: int = 1000) -> dict:
    """Temperature fitted on the out-of-fold logits, the confidence table after it, the
    band measured from it, and the pooled held-out figures (n, accuracy, ROC-AUC with
    95% intervals)."""
    from model.intervals import with_intervals

    temperature = fit_temperature(oof_logits, y)
    p_real = sigmoid(oof_logits / temperature)
    table = confidence_table(p_real, y)
    return {"temperature": temperature, "confidence_table": table,
            "uncertain_band": measured_band(table),
            "held_out": with_intervals(y, p_real, resamples)}  # fmt: skip
