"""The web view's served network in numpy alone: the backbone's early blocks from the
weights package's state dict, their pooled features, and the published head.

The web view's head reads only the early features (every block of stages 1-4,
model/backbone.py), so the first verdict on a web picture needs neither TensorFlow's
import (about 5 s of CPU) nor the later stages. This runs the same layers as
backbone.build (TF "same" padding, BatchNorm eps 1e-3, ReLU6, identity skips) on the
same weights (model/torch_weights.py), then the head's standardise + Dense `logit`
read from web_head.keras (model/numpy_net.py). model/serve.py's check and the tests
hold it to the Keras network's logits.
"""

from __future__ import annotations

import numpy as np

from model.backbone import BN_EPSILON, MEAN, STD, Backbone, Stage
from model.backbone import _converted as keras_layout  # the one PyTorch -> Keras layout
from model.errors import ModelError
from model.numpy_net import Unsupported, fold_batch_norm, pad_same


def conv_weights(state: dict, prefix: str) -> np.ndarray:
    """(kh, kw, in, out) float32, as the Keras backbone holds it."""
    return np.ascontiguousarray(keras_layout("conv", prefix, state)[0], np.float32)


def depthwise_weights(state: dict, prefix: str) -> np.ndarray:
    """(kh, kw, channels) float32: the Keras depthwise kernel without its multiplier axis."""
    return np.ascontiguousarray(keras_layout("depthwise", prefix, state)[0][..., 0], np.float32)


def folded_bn(state: dict, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Inference BatchNorm as x * factor + shift."""
    weights = [w.astype(np.float32) for w in keras_layout("bn", prefix, state)]
    return fold_batch_norm(*weights, BN_EPSILON)


def conv(x: np.ndarray, kernel: np.ndarray, stride: int) -> np.ndarray:
    """A full convolution, "same" padding, no bias (1x1: one matrix product)."""
    kh, kw, c_in, c_out = kernel.shape
    if kh == 1 and stride == 1:
        return x @ kernel.reshape(c_in, c_out)
    x = pad_same(x, (kh, kw), (stride, stride))
    n = len(x)
    h, w = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    patches = [x[:, i : i + h * stride : stride, j : j + w * stride : stride]
               for i in range(kh) for j in range(kw)]  # fmt: skip
    columns = np.concatenate(patches, axis=-1).reshape(n * h * w, kh * kw * c_in)
    return (columns @ kernel.reshape(kh * kw * c_in, c_out)).reshape(n, h, w, c_out)


def depthwise(x: np.ndarray, kernel: np.ndarray, stride: int) -> np.ndarray:
    """Per-channel k x k convolution, "same" padding: a sum over the kernel's offsets."""
    k = kernel.shape[0]
    x = pad_same(x, (k, k), (stride, stride))
    h, w = (x.shape[1] - k) // stride + 1, (x.shape[2] - k) // stride + 1
    out = np.zeros((len(x), h, w, x.shape[-1]), np.float32)
    for i in range(k):
        for j in range(k):
            out += x[:, i : i + h * stride : stride, j : j + w * stride : stride] * kernel[i, j]
    return out


def relu6(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0, 6, out=x)


class EarlyBlocks:
    """uint8 (N, S, S, 3) -> the pooled outputs of every block of spec.early_stages,
    concatenated in block order: backbone.build's `early` output."""

    def __init__(self, spec: Backbone, state: dict):
        self.stem = (conv_weights(state, "_conv_stem"), folded_bn(state, "_bn0"))
        self.blocks = []
        index, channels = 0, spec.stem
        for number, stage in enumerate(spec.stages, start=1):
            if number > max(spec.early_stages):
                break
            for repeat in range(stage.repeats):
                stride = stage.stride if repeat == 0 else 1
                block = self._block(state, f"_blocks.{index}", stage, stride, channels)
                self.blocks.append((number in spec.early_stages, block))
                index, channels = index + 1, stage.out

    @staticmethod
    def _block(state: dict, prefix: str, stage: Stage, stride: int, channels: int) -> dict:
        return {
            "expand": (conv_weights(state, f"{prefix}._expand_conv"),
                       folded_bn(state, f"{prefix}._bn0")) if stage.expand != 1 else None,
            "depthwise": (depthwise_weights(state, f"{prefix}._depthwise_conv"),
                          folded_bn(state, f"{prefix}._bn1")),
            "project": (conv_weights(state, f"{prefix}._project_conv"),
                        folded_bn(state, f"{prefix}._bn2")),
            "stride": stride,
            "skip": stride == 1 and channels == stage.out,
        }  # fmt: skip

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        x = (np.asarray(pixels, np.float32) - np.float32(MEAN)) / np.float32(STD)
        kernel, (factor, shift) = self.stem
        x = relu6(conv(x, kernel, 2) * factor + shift)
        pooled = []
        for kept, block in self.blocks:
            x = self._run(block, x)
            if kept:
                pooled.append(x.mean(axis=(1, 2)))
        return np.concatenate(pooled, axis=1)

    @staticmethod
    def _run(block: dict, inputs: np.ndarray) -> np.ndarray:
        x = inputs
        if block["expand"] is not None:
            kernel, (factor, shift) = block["expand"]
            x = relu6(conv(x, kernel, 1) * factor + shift)
        kernel, (factor, shift) = block["depthwise"]
        x = relu6(depthwise(x, kernel, block["stride"]) * factor + shift)
        kernel, (factor, shift) = block["project"]
        x = conv(x, kernel, 1) * factor + shift
        return x + inputs if block["skip"] else x


class WebEngine:
    """The web view's logits by numpy: early blocks, then the head."""

    def __init__(self, blocks: EarlyBlocks, head: Head, size: int):
        self.blocks, self.head, self.input_shape = blocks, head, (size, size, 3)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        return self.head(self.blocks(batch)).astype(np.float64)


def web_engine(head_path, spec: dict) -> WebEngine:
    """The published web view (card spec, web_head.keras) in numpy, on the installed
    weights the card names (checked as the Keras path checks them); Unsupported when its
    head reads more than the early blocks."""
    from model import backbone, published
    from model.torch_weights import read_state_dict

    if list(spec.get("features") or []) != ["early"]:
        raise Unsupported(f"web features {spec.get('features')}: numpy runs the early ones")
    name = published.checked_backbone(spec)["backbone"]
    blocks = EarlyBlocks(backbone.BACKBONES[name], read_state_dict(backbone.weights_path(name)))
    head = Head(head_path)
    if len(head.mean) != backbone.feature_sizes(name)["early"]:
        raise ModelError(f"the web head takes {len(head.mean)} features, early gives "
                         f"{backbone.feature_sizes(name)['early']}")  # fmt: skip
    return WebEngine(blocks, head, int(spec["image_size"]))


class Head:
    """The published web head (web_head.keras): features -> standardise -> `logit`."""

    def __init__(self, path):
        self.mean, self.variance, self.kernel, self.bias = _head_weights(path)
        # Keras's Normalization divides by max(sqrt(variance), epsilon 1e-7)
        self.scale = np.maximum(np.sqrt(self.variance), np.float32(1e-7))

    def __call__(self, features: np.ndarray) -> np.ndarray:
        return (((features - self.mean) / self.scale) @ self.kernel + self.bias).reshape(-1)


def _head_weights(path) -> tuple[np.ndarray, ...]:
    """web_head.keras's Normalization mean/variance (kept in its config, as head_model
    passes them) and its Dense `logit` kernel/bias."""
    import io
    import json
    import zipfile

    import h5py

    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        weights = archive.read("model.weights.h5")
    layers = config["config"]["layers"]
    kinds = [layer["class_name"] for layer in layers]
    if kinds != ["InputLayer", "Normalization", "Dense", "Activation"]:
        raise Unsupported(f"a web head of {kinds}")
    norm = layers[1]["config"]
    if not isinstance(norm.get("mean"), list) or not isinstance(norm.get("variance"), list):
        raise Unsupported("a web head whose standardisation is not in its config")
    with h5py.File(io.BytesIO(weights), "r") as h5:
        kernel, bias = (np.asarray(h5["layers/dense/vars"][str(i)], np.float32) for i in (0, 1))
    as_array = lambda v: np.asarray(v, np.float32).reshape(-1)  # noqa: E731
    return as_array(norm["mean"]), as_array(norm["variance"]), kernel, bias
