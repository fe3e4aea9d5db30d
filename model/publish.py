"""Publish the evaluated views in one folder: published/model.keras (the whole view),
web_head.keras (the web view's head; its backbone comes from the pinned weights
package the card names), model_card.json (both views, their measured figures and the
routing rule) and examples/ (CIFAKE test pictures for the
app). The folder is written beside itself and renamed into place, so a failed
publish leaves the previous one whole.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from dataset.atomic import atomic_dir
from dataset.prepared import LABELS, Split
from model import card as cards
from model import published as contract
from model.errors import ModelError

PUBLISHED = Path("published")
WHOLE_MODEL = Path("data/model/model.keras")
TRAINING = Path("data/model/training.json")
WEB_HEAD = Path("data/model_web/head.keras")
WEB_CALIBRATION = Path("data/model_web/calibration.json")
BACKBONE_INFO = Path("data/backbone/backbone.json")
LOGO = Path("reports/logo.json")
METRICS = Path("reports/metrics.json")
MODIFIED_METRICS = Path("reports/modified.json")
WEB_METRICS = Path("reports/web_metrics.json")
EVALUATION = Path("reports/evaluation")
DATASET_REPORT = Path("reports/dataset.json")
WEB_SUMMARY = Path("data/web/summary.json")


def read_json(path: Path, required: bool = True):
    if not path.is_file():
        if required:
            raise ModelError(f"{path} not found; run the stages before publish (dvc repro publish)")
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ModelError(f"{path} is not valid JSON ({e})") from None


def check_quality(metrics: dict, min_accuracy: float) -> None:
    """The whole view serves CIFAKE-sized pictures: gate it on CIFAKE's test accuracy."""
    accuracy = metrics.get("per_source", {}).get("cifake", {}).get("accuracy")
    _gate(accuracy, min_accuracy, "CIFAKE test accuracy", "publish.min_accuracy", "evaluate")


def check_web(logo: dict, min_web_auc: float) -> None:
    """The web view serves web pictures of sources it has not seen: gate it on the
    leave-one-group-out mean ROC-AUC of the shipped recipe."""
    auc = logo.get("shipped", {}).get("mean")
    _gate(auc, min_web_auc, "web leave-one-group-out mean ROC-AUC", "publish.min_web_auc",
          "logo")  # fmt: skip


def _gate(value, minimum: float, what: str, setting: str, stage: str) -> None:
    """One line and nothing written when a figure is missing or below its setting."""
    if not isinstance(value, (int, float)):
        raise ModelError(f"no {what} in the reports; run the {stage} stage")
    if value < minimum:
        raise ModelError(
            f"{what} {value:.4f} is below {setting} {minimum}; "
            "not publishing (published/ is unchanged)"
        )


def choose_examples(split: Split, count: int, seed: int = 0) -> list[int]:
    """`count` CIFAKE test pictures (never web ones: those are not ours to ship), half
    real and half ai."""
    rows = np.flatnonzero(split.source == "cifake")
    return [int(rows[i]) for i in _choose(split.subset(split.source == "cifake"), count, seed)]


def _choose(split: Split, count: int, seed: int) -> list[int]:
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
    """The pictures as PNG files in `folder`, listed in examples.json (the app's examples)."""
    folder.mkdir(parents=True, exist_ok=True)
    listing = []
    for k, i in enumerate(indices):
        label = LABELS[int(split.y[i])]
        name = f"{k:02d}-{label}-{split.source[i]}.png"
        Image.fromarray(split.x[i]).save(folder / name)
        listing.append({"file": name, "label": label, "source": str(split.source[i]),
                        "id": str(split.id[i])})  # fmt: skip
    (folder / contract.EXAMPLES_LIST).write_text(json.dumps(listing, indent=1) + "\n")


def write_published(folder: Path, fill) -> None:
    """Fill a fresh folder beside `folder`, then swap it in (the old one stays on failure)."""
    with atomic_dir(folder) as temp:
        temp.chmod(0o755)
        fill(temp)


def publish(params, web, out: Path = PUBLISHED) -> dict:
    """Check both views against their gates, then write the published folder; the card."""
    from dataset import prepared
    from model.evaluate import load_trained

    metrics, web_metrics, logo = read_json(METRICS), read_json(WEB_METRICS), read_json(LOGO)
    check_quality(metrics, params.min_accuracy)  # before anything is written
    check_web(logo, params.min_web_auc)
    evaluation = {name: read_json(EVALUATION / f"{name}.json")
                  for name in ("roc", "calibration", "confusion", "robustness")}  # fmt: skip
    whole, head = load_trained(WHOLE_MODEL), load_trained(WEB_HEAD)
    training = read_json(TRAINING)
    views = {
        "whole": cards.whole_view(model=whole, metrics=metrics, evaluation=evaluation,
                                  training=training, min_accuracy=params.min_accuracy,
                                  modified=read_json(MODIFIED_METRICS, required=False)),
        "web": cards.web_view(web_metrics=web_metrics, logo=logo, params=web,
                              calibration=read_json(WEB_CALIBRATION),
                              backbone=read_json(BACKBONE_INFO)),
    }  # fmt: skip
    # A small picture may be a shrunk web picture: the whole view's figure on those.
    views["whole"]["metrics"]["small_web"] = (web_metrics.get("small") or {}).get("cifake_view")
    meta = prepared.load_meta()
    data = {"counts": prepared.counts(), "balance": meta.get("balance"),
            "class_weight": meta.get("class_weight"),
            "report": read_json(DATASET_REPORT, required=False),
            "web": _web_counts(read_json(WEB_SUMMARY, required=False))}  # fmt: skip
    card = cards.card(
        views=views, data=data, architecture=cards.describe(training.get("params", {}))
    )
    test = prepared.load_split("test")

    def fill(folder: Path) -> None:
        # Loaded without compiling, so the optimizer state (2x the weights) is left behind.
        whole.save(folder / contract.MODEL_FILE)
        head.save(folder / contract.WEB_FILE)
        (folder / contract.CARD_FILE).write_text(json.dumps(card, indent=1) + "\n")
        examples = folder / contract.EXAMPLES_DIR
        write_examples(test, choose_examples(test, params.examples), examples)

    write_published(out, fill)
    return card


def _web_counts(summary: dict | None) -> dict | None:
    """Counts only: the card is committed, and names of web pictures are not ours to ship."""
    return {k: summary.get(k) for k in ("pictures", "counts")} if summary else None
