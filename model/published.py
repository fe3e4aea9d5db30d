"""The published model's contract, owned here: what `published/` holds and what it means.

The publish stage writes it, model/serve.py (the app, the prediction command) reads
it; both go through this module, so the two sides cannot drift apart.

published/
  model_card.json   name, created, revision, labels, routing, views (below)
  model.keras       the "whole" view's network (card views.whole.file)
  web_head.keras    the "web" view's head (card views.web.file): features in, `logit`
                    and `p_real` out; its backbone is not shipped but rebuilt from the
                    pinned weights package the card names (views.web.backbone), whose
                    file's sha256 loading checks
  examples/         up to 12 test pictures + examples.json (the app's example toggle)

Each view's network as served: uint8 pixels (S, S, 3) in, Rescaling inside, a Dense
layer named `logit`, a sigmoid output `p_real` (1 = real photograph); the whole view
also has a conv named `last_conv` for Grad-CAM. p_real shown = sigmoid(logit / T).
A three-class view (its card says `classes: ["real", "modified", "ai"]`, the order of
model.classes.CLASSES) has a Dense `logits` of width 3 and a softmax output
(N, 3) instead; its probabilities are softmax(logits / temperature) and p_real is the
first of them, so every consumer of p_real reads either kind.

Routing: a decoded picture whose longer side is at most routing.whole_max_side is
judged whole (CIFAKE-sized); a larger one by the web view. A card
may hold one view only; every picture then goes to it, and a picture of the other kind
gets no figures and is not called calibrated.

The card (check_card fills the defaults marked =):
  name, created, revision, architecture, parameters      shown on the model page
  labels            {"0": "ai", "1": "real"}
  routing           {whole_max_side = 64, rule: one sentence for visitors}
  data.counts       {split: {source: {ai, real}}}         the model page's data table
  views.whole       file = model.keras, image_size, temperature = 1, threshold = 0.5,
                    calibrated_on = null (words naming the pictures T was fitted on;
                    calibrated when they include "cifake"), kind = "CIFAKE-sized
                    picture", input = "rgb" ("rgb+ela"), classes = null (two-class
                    sigmoid) or ["real", "modified", "ai"] (softmax),
                    metrics {n, accuracy, accuracy_ci [lo, hi], roc_auc, roc_auc_ci,
                    average_precision, ece_before, ece_after, precision/recall/f1
                    {ai, real}}, confusion_matrix {labels, matrix}, roc {fpr, tpr},
                    calibration {bins [{confidence, accuracy, count}]}, robustness
                    [{edit, accuracy, roc_auc}], per_source {name: {n, accuracy,
                    roc_auc}}, training {epochs_run, seconds, images_per_second},
                    metrics.small_web {n, accuracy, roc_auc}: web test pictures shrunk
                    to 32 px, what a small picture that is not CIFAKE's can expect
  views.web         the same keys, and backbone {name, package, version, file,
                    sha256}, features (e.g. ["early"]), crops = null (the picture
                    squashed to S x S, cards before crops) or k: up to k squares
                    (dataset.views.square_crops), p_real from the mean of their
                    logits (the web head is linear), kind = "web picture",
                    uncertain_band (the "not sure" width measured on held-out groups),
                    calibrated_on ("web ..."), metrics.logo {mean, folds {group: {n,
                    roc_auc, roc_auc_ci}}}, metrics.confidence_table [{low, high, n,
                    right}], metrics.test, metrics.per_group, metrics.small,
                    container_baseline {logo, test}
Every figure is optional: the app shows what is there. The verdict page shows each
view's n, accuracy(_ci), roc_auc(_ci) (serve.RELIABILITY_KEYS).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from dataset.views import WEB, WHOLE
from model.classes import CLASSES, LOGITS_LAYER, probabilities
from model.errors import ModelError
from settings.errors import first_line

CARD_FILE = "model_card.json"
MODEL_FILE = "model.keras"  # the whole view's default file
WEB_FILE = "web_head.keras"  # the web view's head
EXAMPLES_DIR = "examples"
EXAMPLES_LIST = "examples.json"
LOGIT_LAYER = "logit"
CAM_LAYER = "last_conv"
OUTPUT_LAYER = "p_real"
LABELS = {"0": "ai", "1": "real"}
VIEWS = (WHOLE, WEB)
DEFAULT_FILES = {WHOLE: MODEL_FILE, WEB: WEB_FILE}
DEFAULT_KINDS = {WHOLE: "CIFAKE-sized picture", WEB: "web picture"}
# A view's probabilities are calibrated when its temperature was fitted on its own kind:
# calibrated_on names the pictures it was fitted on ("cifake", "web", or a sentence
# such as "validation pictures of CIFAKE and the web"), null when it was not fitted.
CALIBRATION_DOMAIN = {WHOLE: "cifake", WEB: "web"}
WHOLE_MAX_SIDE = 64
BACKBONE_KEYS = ("name", "package", "version", "file", "sha256")
FEATURES = ("head", "mid", "early")
BUILD_HINT = "build it with `make pipeline-offline` (or `dvc repro`)"


DECIMALS = 3  # p_real is shown with three decimals; the uncertain band applies to that number


def shown(p_real: float) -> float:
    """p_real as pages and tables show it (three decimals)."""
    return round(float(p_real), DECIMALS)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def calibrate(logits, temperature: float):
    """Calibrated p_real from logits: sigmoid(logit / temperature), or from (N, 3)
    three-class logits P(real) of softmax(logits / temperature)."""
    logits = np.asarray(logits, np.float64)
    if logits.ndim == 2 and logits.shape[-1] == len(CLASSES):
        return probabilities(logits, temperature)[:, CLASSES.index("real")]
    return sigmoid(logits / temperature)


def class_names(view: dict) -> tuple[str, ...] | None:
    """A checked view's output classes in order (three-class), None for the sigmoid head."""
    return tuple(view["classes"]) if view.get("classes") else None


def logit_layer(view: dict) -> str:
    """The layer whose output a view's temperature divides: `logit` or `logits`."""
    return LOGITS_LAYER if class_names(view) else LOGIT_LAYER


def kind_of(height: int, width: int, card: dict) -> str:
    """The view made for a decoded picture of this size, whether the card has it or not."""
    return WHOLE if max(height, width) <= card["routing"]["whole_max_side"] else WEB


def route(height: int, width: int, card: dict) -> str:
    """The view that judges a decoded picture of this size (a checked card's views)."""
    views = card["views"]
    if len(views) == 1:
        return next(iter(views))
    return kind_of(height, width, card)


def is_calibrated(name: str, view: dict) -> bool:
    """True when the view's calibration pictures include its own kind."""
    where = view.get("calibrated_on")
    return isinstance(where, str) and CALIBRATION_DOMAIN[name] in where.lower()


# --- the card ---


def read_card(folder: Path | str) -> dict:
    """The checked card of a published folder; ModelError (one line) if missing or wrong."""
    path = Path(folder) / CARD_FILE
    if not path.is_file():
        raise ModelError(f"{path} not found; {BUILD_HINT}")
    try:
        card = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ModelError(f"{path} is not readable JSON ({first_line(e)})") from None
    if not isinstance(card, dict):
        raise ModelError(f"{path} must hold a JSON object")
    return check_card(card)


def check_card(card: dict) -> dict:
    """The card with defaults filled in; ModelError naming the first wrong key.

    A card from before the two views (image_size, temperature... at the top) is read
    as a card with one whole view.
    """
    if "views" not in card:
        card = _from_single_view(card)
    card = dict(card)
    labels = card.get("labels", LABELS)
    if labels != LABELS:
        raise ModelError(f"{CARD_FILE}: labels must be {LABELS}, got {labels!r}")
    views = card.get("views")
    if not isinstance(views, dict) or not views:
        raise ModelError(f"{CARD_FILE}: views must name at least one of {', '.join(VIEWS)}")
    unknown = sorted(set(views) - set(VIEWS))
    if unknown:
        raise ModelError(f"{CARD_FILE}: views.{unknown[0]} is not a view ({', '.join(VIEWS)})")
    routing = dict(card.get("routing") or {})
    routing.setdefault("whole_max_side", WHOLE_MAX_SIDE)
    _integer(routing["whole_max_side"], "routing.whole_max_side", 1)
    card["routing"] = routing
    card["views"] = {name: check_view(name, views[name]) for name in VIEWS if name in views}
    return card


def check_view(name: str, view) -> dict:
    where = f"views.{name}"
    if not isinstance(view, dict):
        raise ModelError(f"{CARD_FILE}: {where} must be an object")
    view = {
        "file": DEFAULT_FILES[name],
        "temperature": 1.0,
        "threshold": 0.5,
        "calibrated_on": None,
        "kind": DEFAULT_KINDS[name],
        "input": "rgb",
        **view,
    }
    file = view["file"]
    if not isinstance(file, str) or not file.endswith(".keras") or Path(file).name != file:
        raise ModelError(f"{CARD_FILE}: {where}.file must be a .keras file name, got {file!r}")
    _integer(view.get("image_size"), f"{where}.image_size", 8)
    temperature = view["temperature"]
    if not _is_number(temperature) or not 0 < temperature < math.inf:
        raise ModelError(
            f"{CARD_FILE}: {where}.temperature must be a positive number, got {temperature!r}"
        )
    threshold = view["threshold"]
    if not _is_number(threshold) or not 0 < threshold < 1:
        raise ModelError(
            f"{CARD_FILE}: {where}.threshold must be between 0 and 1, got {threshold!r}"
        )
    band = view.get("uncertain_band")
    if band is not None and (not _is_number(band) or not 0 <= band <= 1):
        raise ModelError(f"{CARD_FILE}: {where}.uncertain_band must be in [0, 1], got {band!r}")
    if view["calibrated_on"] is not None and not isinstance(view["calibrated_on"], str):
        raise ModelError(
            f"{CARD_FILE}: {where}.calibrated_on must name the calibration pictures or be "
            f"null, got {view['calibrated_on']!r}"
        )
    if view["input"] not in ("rgb", "rgb+ela") or (name == WEB and view["input"] != "rgb"):
        raise ModelError(f"{CARD_FILE}: {where}.input {view['input']!r} is not supported")
    if not isinstance(view.get("metrics", {}), dict):
        raise ModelError(f"{CARD_FILE}: {where}.metrics must be an object")
    if view.get("classes") is not None and list(view["classes"]) != list(CLASSES):
        raise ModelError(
            f"{CARD_FILE}: {where}.classes must be null or {list(CLASSES)}, got {view['classes']!r}"
        )
    if name == WEB:
        _check_web(view, where)
    return view


def _check_web(view: dict, where: str) -> None:
    backbone = view.get("backbone")
    if not isinstance(backbone, dict) or not all(
        isinstance(backbone.get(k), str) and backbone[k] for k in BACKBONE_KEYS
    ):
        raise ModelError(
            f"{CARD_FILE}: {where}.backbone must give {', '.join(BACKBONE_KEYS)} as text"
        )
    crops = view.get("crops")
    if crops is not None:
        _integer(crops, f"{where}.crops", 1)
    features = view.get("features")
    if not isinstance(features, list) or not features or not set(features) <= set(FEATURES):
        raise ModelError(
            f"{CARD_FILE}: {where}.features must list some of {', '.join(FEATURES)}, "
            f"got {features!r}"
        )


def _from_single_view(card: dict) -> dict:
    """The pre-two-view card as a card with one whole view (measured mostly on CIFAKE)."""
    metrics = dict(card.get("metrics") or {})
    cifake = (metrics.get("per_source") or {}).get("cifake")
    if isinstance(cifake, dict):  # the CIFAKE-sized kind's own figures, when given
        metrics = {**metrics, **cifake}
    whole = {
        key: card[key]
        for key in (
            "image_size", "temperature", "threshold", "input", "confusion_matrix", "roc",
            "calibration", "robustness", "training",
        )
        if key in card
    }  # fmt: skip
    whole["metrics"] = metrics
    whole["calibrated_on"] = "cifake" if "temperature" in card else None
    if "per_source" in metrics:
        whole["per_source"] = metrics["per_source"]
    return {**card, "views": {WHOLE: whole}}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer(value, name: str, least: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ModelError(
            f"{CARD_FILE}: {name} must be an integer of at least {least}, got {value!r}"
        )


# --- the networks ---


def check_model(model, name: str, view: dict) -> None:
    """What serving relies on: (S, S, 3) pixels in ((S, S, 6) with ELA), (N, 1) out and
    `logit` ((N, 3) and `logits` for a three-class view), and `last_conv` in the whole
    view. ModelError (one line) otherwise."""
    shape = tuple(model.input_shape)
    channels = 6 if view.get("input") == "rgb+ela" else 3
    size = view["image_size"]
    if shape[1:] != (size, size, channels):
        raise ModelError(
            f"the {name} view's model takes {shape[1:]}, its card says ({size}, {size}, {channels})"
        )
    width = len(CLASSES) if class_names(view) else 1
    if tuple(model.output_shape[1:]) != (width,):
        raise ModelError(
            f"the {name} view's model must output (N, {width}) as its card says, "
            f"got {model.output_shape}"
        )
    names = {layer.name for layer in model.layers}
    needed = (logit_layer(view), CAM_LAYER) if name == WHOLE else (logit_layer(view),)
    for layer in needed:
        if layer not in names:
            raise ModelError(f"the {name} view's model has no layer named {layer!r}")


def load_model(folder: Path | str, name: str, view: dict):
    """One view's checked Keras model as served (imports Keras on first use); the web
    view's head joined to its backbone, rebuilt from the weights package the card names."""
    import keras

    path = Path(folder) / view["file"]
    if not path.is_file():
        raise ModelError(f"{path} not found; {BUILD_HINT}")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as e:  # noqa: BLE001 - zip, h5, JSON and Keras errors all mean "unreadable"
        raise ModelError(f"cannot load {path} ({first_line(e)})") from None
    if name == WEB:
        model = _with_backbone(model, view)
    check_model(model, name, view)
    return model


def checked_backbone(view: dict) -> dict:
    """The installed weights of the card's backbone (backbone.describe), checked against
    the card: package, version and the weights file's sha256; ModelError otherwise."""
    from model import backbone, web_view

    wanted = view["backbone"]
    installed = backbone.describe(wanted["name"])
    web_view.check_source(installed, wanted["package"], wanted["version"])
    if installed["sha256"] != wanted["sha256"]:
        raise ModelError(
            f"the installed {wanted['package']} weights ({installed['file']}) have sha256 "
            f"{installed['sha256'][:12]}..., the card was made with {wanted['sha256'][:12]}..."
        )
    return installed


def _with_backbone(head, view: dict):
    """The served web view: the card's checked backbone joined to the published head."""
    from model import backbone, web_view

    name = checked_backbone(view)["backbone"]
    base = backbone.build(name, image_size=view["image_size"])
    return web_view.compose(base, head, view["features"])


def model_files(card: dict) -> list[str]:
    return [view["file"] for view in card["views"].values()]


def stamp(folder: Path | str) -> tuple:
    """Changes when the folder is republished (card or any model file), for caches."""
    folder = Path(folder)
    names = [CARD_FILE]
    try:
        names += model_files(read_card(folder))
    except ModelError:
        names += [MODEL_FILE, WEB_FILE]
    out = []
    for name in names:
        try:
            info = (folder / name).stat()
            out.append((name, info.st_mtime_ns, info.st_size))
        except OSError:
            out.append((name, None))
    return tuple(out)
