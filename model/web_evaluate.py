"""Evaluate the web view on the test split (merge's stable hash split, never used to
choose anything), group by group, with the container-only baseline beside every figure,
and on small copies of the same pictures (the web view, and the CIFAKE view that
small pictures are routed to).

The figure that predicts a source never seen is the logo stage's (reports/logo.json);
the test split's groups were all trained on (other pictures of the same sources).
"""

from __future__ import annotations

import numpy as np

from dataset.web import WebSet
from model import container
from model.evaluate import curves, reliability, sigmoid
from model.intervals import with_intervals
from model.web_train import confidence_table, head_logits


def evaluate_web(head, features: list[str], temperature: float, cifake_view, data: WebSet,
                 resamples: int, bins: int) -> tuple[dict, dict]:  # fmt: skip
    """(metrics for reports/web_metrics.json, tables for reports/evaluation_web/)."""
    train, test = data.subset(data.split == "train"), data.subset(data.split == "test")
    p = sigmoid(head_logits(head, test.x(features)) / temperature)
    baseline = container.fit(train)
    p_file = container.p_real(baseline, test)
    small_names = [f"small_{name}" for name in features]
    p_small = sigmoid(head_logits(head, test.x(small_names)) / temperature)
    p_small_cifake = cifake_view.p_real(test.small)
    ece, bins_after = reliability(p, test.y, bins)
    metrics = {
        "test": with_intervals(test.y, p, resamples),
        "ece": ece,
        "confidence_table": confidence_table(p, test.y),
        "per_group": _per_group(test, p, resamples),
        "container_baseline": {
            "test": with_intervals(test.y, p_file, resamples),
            "per_group": _per_group(test, p_file, resamples),
        },
        "small": {  # the test pictures shrunk to dataset.web.SMALL_SIDE
            "web_view": with_intervals(test.y, p_small, resamples),
            "cifake_view": with_intervals(test.y, p_small_cifake, resamples),
        },
    }
    tables = {"roc.json": {"roc": curves(test.y, p)["roc"]},
              "reliability.json": {"reliability": bins_after}}  # fmt: skip
    return metrics, tables


def _per_group(data: WebSet, p: np.ndarray, resamples: int) -> dict:
    return {
        group: with_intervals(data.y[data.group == group], p[data.group == group], resamples)
        for group in data.groups
    }
