"""The published model card: both views, their measured figures and the routing rule.

A picture whose longer side is at most ROUTING_MAX_SIDE (CIFAKE-sized) goes to the
whole view, trained and measured on such pictures; any other to the web view,
measured first on web pictures of groups it never trained on.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

import numpy as np

from model.classes import CLASSES
from model.published import MODEL_FILE as WHOLE_FILE
from model.published import WEB_FILE
from model.published import WHOLE_MAX_SIDE as ROUTING_MAX_SIDE

PREPROCESSING = (
    "dataset.imaging.load_image: decoded with size and pixel caps, EXIF orientation applied, "
    "RGB with transparency on white, resized to {s}x{s} (area when shrinking, bicubic when "
    "enlarging); raw 0-255 pixels go in, the model rescales them itself"
)
ROC_POINTS = 200


def describe(settings: dict) -> str:
    """One line naming the architecture, e.g. cnn4: 4 blocks x 2 conv 32-64-128-256, ..."""
    name = settings.get("architecture", "?")
    head = "-".join(str(u) for u in settings.get("dense", []))
    out = "softmax over " + ", ".join(CLASSES) if settings.get("classes") == 3 else "sigmoid"
    if name != "cnn4":
        tuning = "fine-tuned" if settings.get("fine_tune") else "frozen"
        return (
            f"{name} ({tuning} ImageNet base at {settings.get('pretrained_image_size')}px), "
            f"1x1 conv 256, global average pooling, dense {head}, {out}"
        )
    filters = "-".join(str(f) for f in settings.get("filters", []))
    bn = " + batch norm" if settings.get("batch_norm") else ""
    return (
        f"cnn4: 4 blocks x {settings.get('convs_per_block', 1)} conv3x3{bn} ({filters} "
        f"filters), 2x2 max pooling, dropout {settings.get('block_dropout')}; "
        f"dropout {settings.get('dropout')} + dense {head}; {out}"
    )


def whole_view(
    *,
    model,
    metrics: dict,
    evaluation: dict,
    training: dict,
    min_accuracy: float,
    modified: dict | None = None,
) -> dict:
    """The whole view's entry: the picture shrunk to S x S, measured on CIFAKE's test split
    (and on its modified pictures when reports/modified.json is given)."""
    settings = training.get("params", {})
    size = int(model.input_shape[1])
    roc = evaluation["roc"]["roc"]
    keep = np.unique(np.linspace(0, len(roc) - 1, min(len(roc), ROC_POINTS)).astype(int))
    per_source = {
        source: {
            k: v
            for k, v in row.items()
            if k in ("n", "accuracy", "accuracy_ci", "roc_auc", "roc_auc_ci", "average_precision")
        }
        for source, row in metrics.get("per_source", {}).items()
    }
    calibration = evaluation["calibration"]
    cifake = metrics.get("per_source", {}).get("cifake", {})
    three = model.output_shape[-1] == len(CLASSES)
    return {
        "file": WHOLE_FILE,
        "classes": list(CLASSES) if three else None,
        "kind": "CIFAKE-sized picture",
        "calibrated_on": "validation pictures of CIFAKE and the web, whole view",
        "architecture": describe(settings),
        "parameters": int(model.count_params()),
        "image_size": size,
        "input": "rgb+ela" if model.input_shape[-1] == 6 else "rgb",
        "threshold": float(metrics.get("threshold", 0.5)),
        "temperature": float(calibration["temperature"]),
        "preprocessing": PREPROCESSING.format(s=size),
        "metrics": {
            **{k: cifake.get(k) for k in ("n", "accuracy", "accuracy_ci", "roc_auc", "roc_auc_ci")},
            "all_test": {k: metrics.get(k) for k in ("n", "accuracy", "roc_auc")},
            **{k: metrics.get(k) for k in ("precision", "recall", "f1")},
            "ece_before": calibration["ece_before"],
            "ece_after": calibration["ece_after"],
            "per_source": per_source,
        },
        "confusion_matrix": evaluation["confusion"],
        "roc": {
            "fpr": [roc[i]["fpr"] for i in keep],
            "tpr": [roc[i]["tpr"] for i in keep],
        },
        "robustness": [
            {k: row[k] for k in ("edit", "accuracy", "roc_auc")}
            for row in evaluation["robustness"]["robustness"]
        ],
        "calibration": {
            "bins": calibration["bins_after"],
            "bins_before": calibration["bins_before"],
        },
        "training": {
            "provenance": training.get("provenance"),  # set when not trained by this run
            "epochs_run": training.get("epochs_run"),
            "best_epoch": training.get("best_epoch"),
            "seconds": training.get("seconds"),
            "images_per_second": training.get("images_per_second"),
            "settings": settings,
        },
        "modified": _modified_figures(modified),
        "min_accuracy": min_accuracy,
    }


def _modified_figures(report: dict | None) -> dict | None:
    """The modified test pictures' headline figures (model/modified_report.py)."""
    if not report:
        return None
    keys = ("n", "called_real", "called_real_ci", "mean_p_real", "called_modified",
            "called_modified_ci")  # fmt: skip
    per_kind = {
        kind: {k: row.get(k) for k in keys if k in row}
        for kind, row in (report.get("per_kind") or {}).items()
    }
    return {**{k: report[k] for k in keys if k in report}, "per_kind": per_kind,
            "real_vs_modified": report.get("real_vs_modified"),
            "three_class": report.get("three_class")}  # fmt: skip


def git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def web_view(*, web_metrics: dict, logo: dict, calibration: dict, backbone: dict,
             params) -> dict:  # fmt: skip
    """The web view's entry: its backbone's source, the head's features, and what it
    measured: on sources held out of training first (leave-one-group-out), then on the
    test split, with the container-only baseline beside both."""
    keys = ("n", "accuracy", "accuracy_ci", "roc_auc", "roc_auc_ci")
    recipes = logo.get("recipes", {})
    shipped = logo["shipped"]
    groups = ", ".join(shipped["folds"])
    return {
        "file": WEB_FILE,
        "kind": "web picture",
        "calibrated_on": f"web pictures of groups held out of training ({groups})",
        "image_size": params.image_size,
        "crops": params.crops,
        "features": list(params.features),
        "backbone": {
            "name": backbone["backbone"],
            **{k: backbone[k] for k in ("package", "version", "file", "sha256")},
        },
        "architecture": (
            f"EfficientNet-{backbone['backbone'].title()} (ImageNet, frozen) at "
            f"{params.image_size}px, pooled "
            f"{' + '.join(params.features)} features, {_head_words(params)}"
        ),
        "temperature": float(calibration["temperature"]),
        "threshold": 0.5,
        "uncertain_band": calibration.get("uncertain_band"),
        "preprocessing": (
            f"dataset.views.square_crops: decoded, up to {params.crops} squares of the "
            f"shorter side along the longer side, each resized to "
            f"{params.image_size}x{params.image_size}; the head reads the mean of their "
            f"features (the mean of their logits: the head is linear)"
        ),
        "metrics": {
            # the headline: every training picture scored by a head that never saw its
            # source group (pooled out-of-fold), what a new source can expect
            **{k: calibration["held_out"].get(k) for k in keys},
            "logo": {"mean": shipped["mean"], "folds": shipped["folds"]},
            "confidence_table": calibration["confidence_table"],
            "test": {k: web_metrics["test"].get(k) for k in keys},
            "per_group": web_metrics.get("per_group", {}),
            "small": web_metrics.get("small", {}),
        },
        "container_baseline": {
            "logo": {k: recipes.get("container", {}).get(k) for k in ("mean", "folds")},
            "test": web_metrics.get("container_baseline", {}).get("test"),
        },
        "comparison": {
            recipe: {k: row.get(k) for k in ("mean", "sd", "best") if k in row}
            for recipe, row in recipes.items()
        },
    }


def card(*, views: dict, data: dict, architecture: str) -> dict:
    """The whole card: views by name, routing, data counts, provenance of the build."""
    return {
        "name": "realorai-" + "+".join(sorted(views)),
        "architecture": architecture,
        "labels": {"0": "ai", "1": "real"},
        "routing": {
            "whole_max_side": ROUTING_MAX_SIDE,
            "rule": (
                f"pictures whose longer side is at most {ROUTING_MAX_SIDE} px (CIFAKE-sized) "
                "go to the whole view; all others to the web view"
            ),
        },
        "views": views,
        "data": data,
        "revision": git_revision(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _head_words(web) -> str:
    """The web head in words, with its one setting."""
    if web.head == "rank":
        return f"linear head ranked within each source group (alpha={web.alpha})"
    return f"logistic regression (C={web.C})"
