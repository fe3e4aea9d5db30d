"""Evaluate the patch view on web pictures: held-out groups first, then all test pictures.

The figure that predicts unseen web pictures is the one on groups the model never
trained on (web.val_groups): their test pictures. The temperature is fitted on the
same groups' training-split pictures (never on test), so "calibrated" holds for web
pictures of unseen sources as far as one group can tell. Every figure carries a 95%
bootstrap interval and the container-only baseline beside it.
"""

from __future__ import annotations

import numpy as np

from dataset.web import WebSet
from model import container
from model.evaluate import curves, fit_temperature, reliability, sigmoid
from model.intervals import with_intervals
from model.web_data import grid_batch, picture_logits
from model.web_train import batched_logits, patch_logits


def picture_scores(model, data: WebSet, params) -> np.ndarray:
    """Each picture's logit: mean over its grid of patches (the serving rule)."""
    return picture_logits(patch_logits(model, grid_batch(data, params.image_size, params.grid)),
                          params.grid)  # fmt: skip


def evaluate_web(model, data: WebSet, params, resamples: int, bins: int) -> tuple[dict, dict]:
    """(metrics for reports/web_metrics.json, curves and tables for reports/evaluation_web/)."""
    val, test = data.subset(data.split == "val"), data.subset(data.split == "test")
    held_out = np.isin(test.group, params.val_groups)
    temperature = fit_temperature(picture_scores(model, val, params), val.y)
    p = sigmoid(picture_scores(model, test, params) / temperature)
    baseline = container.fit(data.subset(data.split == "train"))
    p_file = container.p_real(baseline, test)
    ece, bins_after = reliability(p[held_out], test.y[held_out], bins)
    held = test.subset(held_out)
    metrics = {
        "held_out": with_intervals(test.y[held_out], p[held_out], resamples),
        "all": with_intervals(test.y, p, resamples),
        "held_out_groups": list(params.val_groups),
        "temperature": temperature,
        "ece_held_out": ece,
        "held_out_auc_per_seed": per_seed_auc(model, held, params),
        "per_group": {
            group: with_intervals(test.y[test.group == group], p[test.group == group], resamples)
            for group in sorted(set(test.group.tolist()))
        },
        "container_baseline": {
            "held_out": with_intervals(test.y[held_out], p_file[held_out], resamples),
            "all": with_intervals(test.y, p_file, resamples),
        },
    }
    tables = {
        "roc.json": {"roc": curves(test.y[held_out], p[held_out])["roc"]} if held_out.any() else {},
        "reliability.json": {"reliability": bins_after},
    }
    return metrics, tables


def per_seed_auc(model, data: WebSet, params) -> list[float | None]:
    """Each seed's own ROC-AUC (the ensemble's members, `seed_<i>`): the seed spread."""
    from sklearn.metrics import roc_auc_score

    members = [layer for layer in model.layers if layer.name.startswith("seed_")]
    if len(np.unique(data.y)) < 2:
        return [None] * len(members)
    patches = grid_batch(data, params.image_size, params.grid)
    out = []
    for member in members:  # each member's output is its logit
        logits = picture_logits(batched_logits(member, patches), params.grid)
        out.append(round(float(roc_auc_score(data.y, logits)), 4))
    return out
