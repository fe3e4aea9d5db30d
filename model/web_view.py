"""The web view as one Keras network: the frozen backbone (model/backbone.py), the
pooled features it was trained on, and the logistic-regression head.

- `make_backbone` (the backbone stage) builds the backbone from the pinned weights
  package and saves it with where its weights came from;
- `head_model` turns a fitted head (scaler + weights) into a small Keras model
  (features in, a Dense `logit`, a sigmoid `p_real`): what publish ships;
- `compose` joins backbone and head into the served network: uint8 (S, S, 3) pixels
  in, `logit` and `p_real` out, the layout model/published.py checks for every view.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from model.errors import ModelError

BACKBONE_DIR = Path("data/backbone")
BACKBONE_FILE = "backbone.keras"
BACKBONE_INFO = "backbone.json"


def make_backbone(settings, image_size: int, out: Path = BACKBONE_DIR) -> dict:
    """Build the backbone named in params (web.backbone) and save it; ModelError (one
    line) when the installed weights package is not the version params pins."""
    from dataset.atomic import atomic_dir
    from model import backbone

    info = backbone.describe(settings.name)
    check_source(info, settings.package, settings.version)
    model = backbone.build(settings.name, image_size=image_size)
    with atomic_dir(out) as temp:
        model.save(temp / BACKBONE_FILE)
        (temp / BACKBONE_INFO).write_text(json.dumps({**info, "image_size": image_size}, indent=1))
    return info


def check_source(info: dict, package: str, version: str) -> None:
    if info["package"] != package or info["version"] != version:
        raise ModelError(
            f"the web view needs {package}=={version}, but {info['package']} "
            f"{info['version']} is installed (pip install {package}=={version})"
        )


def load_backbone(folder: Path = BACKBONE_DIR):
    """(the saved Keras backbone, its backbone.json)."""
    import keras

    path, info = folder / BACKBONE_FILE, folder / BACKBONE_INFO
    if not path.is_file() or not info.is_file():
        raise ModelError(f"{folder} has no backbone; run the backbone stage (dvc repro)")
    return keras.saving.load_model(path, compile=False), json.loads(info.read_text())


def head_model(mean: np.ndarray, scale: np.ndarray, weights: np.ndarray, bias: float):
    """Features (D,) -> standardised -> Dense `logit` -> sigmoid `p_real`."""
    import keras

    width = len(mean)
    inputs = keras.Input((width,), name="features")
    norm = keras.layers.Normalization(mean=mean, variance=np.square(scale), name="standardise")
    logit = keras.layers.Dense(1, name="logit")
    x = logit(norm(inputs))
    kernel = np.asarray(weights, np.float32).reshape(width, 1)
    logit.set_weights([kernel, np.array([bias], np.float32)])
    outputs = keras.layers.Activation("sigmoid", name="p_real")(x)
    return keras.Model(inputs, outputs, name="web_head")


def compose(backbone_model, head, features: list[str]):
    """The served web view: uint8 pixels -> backbone -> the named features side by side
    -> copies of the head's layers with its weights (copies: a layer shared with the
    head would report the head's graph as its output, and `logit` and `p_real` must be
    this model's own layers)."""
    import keras

    size = backbone_model.input_shape[1]
    pixels = keras.Input((size, size, 3), dtype="uint8", name="pixels")
    # Only the layers the head reads: with early features alone, the later stages and
    # the 1280-channel head conv would be computed for nothing on every picture.
    outputs = backbone_model.output
    needed = keras.Model(backbone_model.input, {name: outputs[name] for name in features})
    pooled = needed(keras.ops.cast(pixels, "float32"))
    parts = [pooled[name] for name in features]
    width, wanted = sum(int(p.shape[-1]) for p in parts), int(head.input_shape[-1])
    if width != wanted:
        raise ModelError(
            f"the web head takes {wanted} features, but {'+'.join(features)} gives {width}"
        )
    x = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="features")(parts)
    for name in ("standardise", "logit", "p_real"):
        layer = head.get_layer(name)
        copy = layer.__class__.from_config(layer.get_config())
        x = copy(x)
        copy.set_weights(layer.get_weights())
    return keras.Model(pixels, x, name="web_view")
