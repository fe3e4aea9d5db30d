"""A published view's network run with numpy alone: the app's first verdicts, before
TensorFlow has finished importing.

Importing TensorFlow and Keras costs about 5 s of CPU, more than the app's whole budget
for a first verdict. The published networks are plain chains of a few layer types, so
this module reads the `.keras` file itself (config.json + model.weights.h5) and runs
its graph up to the `logit` layer (`logits` for a three-class head) in float32, nested
models and Average included (the patch view's ensemble of seeds). Anything else (a
layer type _op does not handle, a shared layer, ELA input) raises Unsupported and the
caller uses Keras. The app checks the two agree once TensorFlow is loaded
(model/serve.py), and tests check them on the tiny models and on the published one.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from model.published import LOGIT_LAYER

# Layers that do nothing at inference time.
IDENTITY = {
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout",
    "AlphaDropout", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
    "RandomContrast", "RandomBrightness", "InputLayer", "Identity",
}  # fmt: skip
ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
}


class Unsupported(Exception):
    """This network is not a chain of the layers this module runs; use Keras."""


def snake(name: str) -> str:
    """Keras's own naming of weight groups in model.weights.h5 (naming.to_snake_case)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


class NumpyNet:
    """Logits of uint8 (N, S, S, C) pictures through a graph of numpy ops."""

    def __init__(self, graph: Graph, layer_names: set[str]):
        self.graph, self.input_shape, self.layer_names = graph, graph.input_shape, layer_names

    @classmethod
    def load(cls, path: Path | str, stop_at: str = LOGIT_LAYER) -> NumpyNet:
        try:
            with zipfile.ZipFile(path) as archive:
                config = json.loads(archive.read("config.json"))
                weights = archive.read("model.weights.h5")
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
            raise Unsupported(f"cannot read {path} ({type(e).__name__})") from None
        return cls.from_config(config, weights, stop_at)

    @classmethod
    def from_config(cls, config: dict, weights: bytes, stop_at: str = LOGIT_LAYER) -> NumpyNet:
        import h5py

        if config.get("class_name") not in ("Functional", "Sequential"):
            raise Unsupported(f"a {config.get('class_name')} model")
        with h5py.File(io.BytesIO(weights), "r") as h5:
            graph = Graph(config["config"], h5, "layers", stop_at=stop_at)
        return cls(graph, {layer["config"]["name"] for layer in config["config"]["layers"]})

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 -> (N,) float64 logits, or (N, K) when the logit layer has
        K > 1 outputs (the three-class head's `logits`)."""
        x = self.graph(np.asarray(batch, np.float32)).reshape(len(batch), -1)
        return (x[:, 0] if x.shape[1] == 1 else x).astype(np.float64)


class Graph:
    """A functional model's layers as numpy ops, run in order from its one input up to
    `stop_at` (else its output). A nested functional model (the patch view's ensemble
    of seeds) is a Graph itself; Average and Add join branches."""

    def __init__(self, config: dict, h5, prefix: str, stop_at: str | None = None):
        layers = config["layers"]
        if stop_at is None:
            outputs = config.get("output_layers") or []
            if outputs and isinstance(outputs[0], str):  # one output: ["name", 0, 0]
                outputs = [outputs]
            if len(outputs) != 1:
                raise Unsupported("a nested model with several outputs")
            stop_at = outputs[0][0]
        groups = _weight_groups(layers)
        self.steps: list[tuple[str, object, list[str]]] = []
        self.input_name, self.input_shape = None, None
        for layer in layers:
            kind, cfg = layer["class_name"], layer["config"]
            name = cfg["name"]
            if kind == "InputLayer":
                if self.input_name is not None:
                    raise Unsupported("several inputs")
                shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
                self.input_name, self.input_shape = name, tuple(shape[1:])
                continue
            sources = _sources(layer)
            where = f"{prefix}/{groups[name]}"
            if kind in ("Functional", "Sequential"):
                op = Graph(cfg, h5, f"{where}/layers")
            elif kind in JOINS:
                op = JOINS[kind]
            else:
                if len(sources) != 1:
                    raise Unsupported(f"layer {name} takes {len(sources)} inputs")
                op = _op(kind, cfg, _variables(h5, where))
            self.steps.append((name, op, sources))
            if name == stop_at:
                break
        else:
            raise Unsupported(f"no layer named {stop_at!r}")
        if self.input_shape is None or len(self.input_shape) != 3 or self.input_shape[-1] != 3:
            raise Unsupported(f"input {self.input_shape}")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        values = {self.input_name: x}
        out = x
        for name, op, sources in self.steps:
            if any(s not in values for s in sources):
                raise Unsupported(f"layer {name} reads a layer not yet computed")
            out = op(*(values[s] for s in sources))
            values[name] = out
        return out


JOINS = {
    "Average": lambda *xs: sum(xs) / np.float32(len(xs)),
    "Add": lambda *xs: sum(xs),
}


def _weight_groups(layers: list) -> dict[str, str]:
    """Layer name -> its group in model.weights.h5: Keras numbers the snake-cased class
    names in layer order (conv2d, conv2d_1, ...; functional, functional_1, ...)."""
    counts: dict[str, int] = {}
    groups = {}
    for layer in layers:
        base = snake(layer["class_name"])
        counts[base] = counts.get(base, -1) + 1
        groups[layer["config"]["name"]] = base if counts[base] == 0 else f"{base}_{counts[base]}"
    return groups


def _sources(layer: dict) -> list[str]:
    """The names of the layers whose outputs this layer takes (called once only)."""
    nodes = layer.get("inbound_nodes") or []
    if len(nodes) != 1:
        raise Unsupported(f"layer {layer['config']['name']} is called {len(nodes)} times")
    found: list[str] = []

    def walk(value):
        if isinstance(value, dict) and "keras_history" in (value.get("config") or {}):
            history = value["config"]["keras_history"]
            if list(history[1:]) != [0, 0]:
                raise Unsupported("a layer output other than the first")
            found.append(history[0])
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    node = nodes[0]
    walk(node.get("args", []) if isinstance(node, dict) else node)
    return found


def _variables(h5, group: str) -> list[np.ndarray]:
    node = h5.get(f"{group}/vars")
    if node is None:
        return []
    return [np.asarray(node[str(i)], np.float32) for i in range(len(node))]


def _op(kind: str, cfg: dict, v: list):
    if kind in IDENTITY or kind == "Flatten":
        if kind == "Flatten":
            return lambda x: x.reshape(len(x), -1)
        return lambda x: x
    if cfg.get("data_format", "channels_last") != "channels_last":
        raise Unsupported(f"{kind} with {cfg.get('data_format')}")
    if kind == "Rescaling":
        scale, offset = np.float32(cfg["scale"]), np.float32(cfg["offset"])
        if not np.isscalar(cfg["scale"]) or not np.isscalar(cfg["offset"]):
            raise Unsupported("per-channel Rescaling")
        return lambda x: x * scale + offset
    if kind == "Conv2D":
        return _conv(cfg, v)
    if kind == "BatchNormalization":
        return _batch_norm(cfg, v)
    if kind == "ReLU":
        if cfg.get("max_value") is not None or cfg.get("negative_slope") or cfg.get("threshold"):
            raise Unsupported("ReLU with options")
        return ACTIVATIONS["relu"]
    if kind == "Activation":
        return _activation(cfg["activation"])
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        return _pool(kind, cfg)
    if kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        if cfg.get("keepdims"):
            raise Unsupported("keepdims pooling")
        reduce = np.mean if kind.startswith("GlobalAverage") else np.max
        return lambda x: reduce(x, axis=(1, 2))
    if kind == "Dense":
        kernel, bias = v[0], (v[1] if cfg.get("use_bias", True) else 0.0)
        act = _activation(cfg.get("activation", "linear"))
        return lambda x: act(x @ kernel + bias)
    raise Unsupported(f"layer type {kind}")


def _activation(name) -> callable:
    if name not in ACTIVATIONS:
        raise Unsupported(f"activation {name}")
    return ACTIVATIONS[name]


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_same(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """(N, H, W, C) padded as TF's "same" does (the extra row and column at the end)."""
    top, bottom = _same_padding(x.shape[1], kernel[0], stride[0])
    left, right = _same_padding(x.shape[2], kernel[1], stride[1])
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))


def fold_batch_norm(gamma, beta, mean, variance, epsilon: float) -> tuple[np.ndarray, ...]:
    """Inference BatchNorm as x * factor + shift."""
    factor = (gamma / np.sqrt(variance + np.float32(epsilon))).astype(np.float32)
    return factor, (beta - mean * factor).astype(np.float32)


def _conv(cfg: dict, v: list):
    if tuple(cfg.get("dilation_rate", (1, 1))) != (1, 1) or cfg.get("groups", 1) != 1:
        raise Unsupported("dilated or grouped convolution")
    kernel = v[0]  # (kh, kw, c_in, c_out)
    kh, kw, c_in, c_out = kernel.shape
    sh, sw = cfg.get("strides", (1, 1))
    matrix = kernel.transpose(2, 0, 1, 3).reshape(c_in * kh * kw, c_out)
    bias = v[1] if cfg.get("use_bias", True) else None
    act = _activation(cfg.get("activation", "linear"))
    padding = cfg.get("padding", "valid")
    if padding not in ("same", "valid"):
        raise Unsupported(f"padding {padding}")

    def conv(x):
        if padding == "same":
            x = pad_same(x, (kh, kw), (sh, sw))
        # (N, H', W', C, kh, kw) windows -> one matrix product
        windows = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]
        n, h, w = windows.shape[:3]
        out = windows.reshape(n * h * w, c_in * kh * kw) @ matrix
        if bias is not None:
            out += bias
        return act(out.reshape(n, h, w, c_out))

    return conv


def _batch_norm(cfg: dict, v: list):
    if cfg.get("axis", -1) not in (-1, 3, [3], [-1]):
        raise Unsupported("batch norm on another axis")
    v = list(v)
    gamma = v.pop(0) if cfg.get("scale", True) else 1.0
    beta = v.pop(0) if cfg.get("center", True) else 0.0
    factor, shift = fold_batch_norm(gamma, beta, v[0], v[1], cfg.get("epsilon", 1e-3))
    return lambda x: x * factor + shift


def _pool(kind: str, cfg: dict):
    ph, pw = cfg["pool_size"]
    sh, sw = cfg.get("strides") or (ph, pw)
    if cfg.get("padding", "valid") != "valid":
        raise Unsupported("pooling with padding")
    reduce = np.max if kind == "MaxPooling2D" else np.mean

    def pool(x):
        n, height, width, c = x.shape
        h, w = (height - ph) // sh + 1, (width - pw) // sw + 1
        if (ph, pw) == (sh, sw):  # the usual case: a reshape, no copies
            x = x[:, : h * ph, : w * pw].reshape(n, h, ph, w, pw, c)
            return reduce(x, axis=(2, 4))
        windows = sliding_window_view(x, (ph, pw), axis=(1, 2))[:, ::sh, ::sw]
        return reduce(windows, axis=(-2, -1))

    return pool
