"""95% bootstrap intervals for the figures the card and the app quote."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

THRESHOLD = 0.5


def accuracy(y: np.ndarray, p_real: np.ndarray) -> float:
    return float(np.mean((p_real >= THRESHOLD) == y))


def roc_auc(y: np.ndarray, p_real: np.ndarray) -> float | None:
    return float(roc_auc_score(y, p_real)) if len(np.unique(y)) == 2 else None


def bootstrap(y, p_real, metric, resamples: int = 1000, seed: int = 0) -> list[float] | None:
    """The 2.5th and 97.5th percentiles of `metric` over resamples of the pictures."""
    y, p_real = np.asarray(y), np.asarray(p_real)
    if len(y) < 2:
        return None
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        rows = rng.integers(0, len(y), len(y))
        value = metric(y[rows], p_real[rows])
        if value is not None:
            values.append(value)
    if len(values) < resamples // 2:
        return None
    low, high = np.percentile(values, [2.5, 97.5])
    return [round(float(low), 4), round(float(high), 4)]


def with_intervals(y, p_real, resamples: int = 1000) -> dict:
    """n, accuracy and ROC-AUC, each with its 95% interval."""
    return {
        "n": int(len(y)),
        "accuracy": accuracy(y, p_real),
        "accuracy_ci": bootstrap(y, p_real, accuracy, resamples),
        "roc_auc": roc_auc(y, p_real),
        "roc_auc_ci": bootstrap(y, p_real, roc_auc, resamples),
    }
