"""Publish the evaluated model: published/model.keras + model_card.json, and example
pictures for the app in data/examples/. Each folder is written beside itself and
renamed into place, so a failed publish leaves the previous one whole.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from dataset.prepared import LABELS, Split
from model.errors import ModelError

PREPROCESSING = (
    "dataset.imaging.load_image: decoded with size and pixel caps, EXIF orientation applied, "
    "RGB with transparency on white, resized to {s}x{s} (area when shrinking, bicubic when "
    "enlarging); raw 0-255 pixels go in, the model rescales them itself"
)
ROC_POINTS = 200


def read_json(path: Path, required: bool = True):
    if not path.is_file():
        if required:
            raise ModelError(f"{path} not found; run the evaluate stage first")
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ModelError(f"{path} is not valid JSON ({e})") from None


def check_quality(metrics: dict, min_accuracy: float) -> None:
    accuracy = metrics.get("accuracy")
    if not isinstance(accuracy, (int, float)):
        raise ModelError("reports/metrics.json has no test accuracy; run the evaluate stage")
    if accuracy < min_accuracy:
        raise ModelError(
            f"test accuracy {accuracy:.4f} is below publish.min_accuracy {min_accuracy}; "
            "not publishing (published/ is unchanged)"
        )


def check_contract(model) -> None:
    """What model/serve.py relies on: (S, S, 3|6) pixels in, (N, 1) out, last_conv, logit."""
    shape = model.input_shape
    if len(shape) != 4 or shape[1] != shape[2] or shape[3] not in (3, 6):
        raise ModelError(f"model input must be (S, S, 3) or (S, S, 6), got {shape[1:]}")
    if tuple(model.output_shape[1:]) != (1,):
        raise ModelError(f"model output must be (N, 1), got {model.output_shape}")
    names = {layer.name for layer in model.layers}
    for needed in ("last_conv", "logit"):
        if needed not in names:
            raise ModelError(f"model has no layer named {needed!r}")


def describe(settings: dict) -> str:
    """One line naming the architecture, e.g. cnn4: 4 blocks x 2 conv 32-64-128-256, ..."""
    name = settings.get("architecture", "?")
    head = "-".join(str(u) for u in settings.get("dense", []))
    if name != "cnn4":
        tuning = "fine-tuned" if settings.get("fine_tune") else "frozen"
        return (
            f"{name} ({tuning} ImageNet base at {settings.get('pretrained_image_size')}px), "
            f"1x1 conv 256, global average pooling, dense {head}, sigmoid"
        )
    filters = "-".join(str(f) for f in settings.get("filters", []))
    bn = " + batch norm" if settings.get("batch_norm") else ""
    return (
        f"cnn4: 4 blocks x {settings.get('convs_per_block', 1)} conv3x3{bn} ({filters} "
        f"filters), 2x2 max pooling, dropout {settings.get('block_dropout')}; "
        f"dropout {settings.get('dropout')} + dense {head}; sigmoid"
    )


def card(
    *,
    model,
    metrics: dict,
    evaluation: dict,
    training: dict,
    meta: dict,
    counts: dict,
    dataset_report,
    min_accuracy: float,
) -> dict:
    settings = training.get("params", {})
    size = int(model.input_shape[1])
    roc = evaluation["roc"]["roc"]
    keep = np.unique(np.linspace(0, len(roc) - 1, min(len(roc), ROC_POINTS)).astype(int))
    per_source = {
        source: {
            k: v for k, v in row.items() if k in ("n", "accuracy", "roc_auc", "average_precision")
        }
        for source, row in metrics.get("per_source", {}).items()
    }
    calibration = evaluation["calibration"]
    return {
        "name": f"realorai-{settings.get('architecture', model.name)}",
        "architecture": describe(settings),
        "parameters": int(model.count_params()),
        "image_size": size,
        "input": "rgb+ela" if model.input_shape[-1] == 6 else "rgb",
        "threshold": float(metrics.get("threshold", 0.5)),
        "temperature": float(calibration["temperature"]),
        "preprocessing": PREPROCESSING.format(s=size),
        "labels": {"0": "ai", "1": "real"},
        "data": {
            "counts": counts,
            "balance": meta.get("balance"),
            "class_weight": meta.get("class_weight"),
            "report": dataset_report,
        },
        "metrics": {
            **{k: metrics.get(k) for k in ("accuracy", "roc_auc", "average_precision")},
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
            "epochs_run": training.get("epochs_run"),
            "best_epoch": training.get("best_epoch"),
            "seconds": training.get("seconds"),
            "images_per_second": training.get("images_per_second"),
            "settings": settings,
        },
        "revision": git_revision(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "min_accuracy": min_accuracy,
    }


def git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def choose_examples(split: Split, count: int, seed: int = 0) -> list[int]:
    """`count` test pictures, half real and half ai, taking each source in turn."""
    rng = np.random.default_rng(seed)
    chosen = []
    for label in (1, 0):
        want = (count + 1 - label) // 2 if label == 1 else count - len(chosen)
        pools = [
            list(rng.permutation(np.flatnonzero((split.y == label) & (split.source == s))))
            for s in sorted(set(split.source))
        ]
        picked = []
        while len(picked) < want and any(pools):
            for pool in pools:
                if pool and len(picked) < want:
                    picked.append(int(pool.pop()))
        chosen += picked
    return chosen


def write_examples(split: Split, indices: list[int], folder: Path) -> None:
    def fill(tmp: Path):
        listing = []
        for k, i in enumerate(indices):
            label = LABELS[int(split.y[i])]
            name = f"{k:02d}-{label}-{split.source[i]}.png"
            Image.fromarray(split.x[i]).save(tmp / name)
            source, picture_id = str(split.source[i]), str(split.id[i])
            listing.append({"file": name, "label": label, "source": source, "id": picture_id})
        (tmp / "examples.json").write_text(json.dumps(listing, indent=1) + "\n")

    replace_dir(folder, fill)


def replace_dir(folder: Path, fill) -> None:
    """Fill a fresh sibling folder, then swap it in for `folder` with renames."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-new-", dir=folder.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the published folder is for everyone
    old = None
    try:
        fill(tmp)
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}-old-", dir=folder.parent))
            os.rename(folder, old / folder.name)
        try:
            os.rename(tmp, folder)
        except OSError:
            if old is not None:
                os.rename(old / folder.name, folder)
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
