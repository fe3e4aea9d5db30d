"""model/numpy_backbone.py: the web view in numpy gives the Keras network's numbers,
and serving a web picture with it needs no TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from model import backbone
from model.numpy_backbone import EarlyBlocks
from model.torch_weights import read_state_dict
from tests.helpers import (
    ROOT,
    WEB_SIZE,
    installed_backbone,
    make_image,
    publish_tiny,
    tiny_card,
    web_view,
    whole_view,
)  # fmt: skip


@pytest.mark.parametrize("name", ["lite0", "lite1"])
def test_early_blocks_are_the_keras_backbones(name):
    state = read_state_dict(backbone.weights_path(name))
    pixels = np.random.default_rng(0).integers(0, 256, (3, WEB_SIZE, WEB_SIZE, 3), np.uint8)
    keras_early = backbone.build(name, state, WEB_SIZE)(pixels.astype(np.float32))["early"]
    numpy_early = EarlyBlocks(backbone.BACKBONES[name], state)(pixels)
    assert numpy_early.shape == (3, backbone.feature_sizes(name)["early"])
    np.testing.assert_allclose(numpy_early, np.asarray(keras_early), rtol=1e-4, atol=1e-4)


def early_folder(tmp_path, name="lite0"):
    view = web_view(features=["early"], backbone=installed_backbone(name))
    return publish_tiny(tmp_path / "published", card=tiny_card(views={
        "whole": whole_view(), "web": view}))  # fmt: skip


def test_the_numpy_web_view_serves_what_keras_serves(tmp_path):
    from model.serve import Predictor

    folder = early_folder(tmp_path)
    fast = Predictor.load(folder, engine="numpy", warm_up=False)
    full = Predictor.load(folder, warm_up=False)
    assert type(fast.views["web"].engine).__name__ == "WebEngine"
    for seed in range(3):
        data = make_image(300, 200, seed=seed)
        a, b = fast.predict_bytes(data), full.predict_bytes(data)
        assert a.view == b.view == "web" and a.p_real == pytest.approx(b.p_real, abs=1e-5)


def test_other_web_features_fall_back_to_keras(tmp_path):
    from model.serve import Predictor

    card = tiny_card(views={"whole": whole_view(), "web": web_view()})  # head + mid
    predictor = Predictor.load(publish_tiny(tmp_path / "p", card=card), engine="numpy",
                               warm_up=False)  # fmt: skip
    assert type(predictor.views["web"].engine).__name__ == "KerasEngine"


def test_the_numpy_web_view_refuses_other_weights(tmp_path):
    from model.errors import ModelError
    from model.numpy_backbone import web_engine

    folder = early_folder(tmp_path)
    spec = json.loads((folder / "model_card.json").read_text())["views"]["web"]
    spec["backbone"] = {**spec["backbone"], "sha256": "0" * 64}
    with pytest.raises(ModelError, match="the card was made with 000000000000"):
        web_engine(folder / "web_head.keras", spec)


def test_a_web_verdict_by_numpy_imports_no_tensorflow(tmp_path):
    folder = early_folder(tmp_path)
    picture = tmp_path / "web.jpg"
    picture.write_bytes(make_image(300, 200, seed=1))
    code = (
        "import sys; from model.serve import Predictor; "
        f"p = Predictor.load({str(folder)!r}, engine='numpy', warm_up=False); "
        f"r = p.predict_bytes(open({str(picture)!r}, 'rb').read()); "
        "print(r.view, 'tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["web", "False", "False"]
