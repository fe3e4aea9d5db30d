"""The serving side against what the publish stage really writes: the tiny project's
trained whole view and web head, published, then loaded by model/serve.py (both engines)
and drawn by the app without a single error line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model.serve import Predictor
from pipeline import publish as publish_stage
from settings import params
from tests.helpers import WEB_SIZE, installed_backbone, make_image, set_params, solid


@pytest.fixture
def published(evaluated):
    set_params("publish", min_accuracy=0.0, min_web_auc=0.0)
    publish_stage.main()
    return evaluated / "published"


def test_the_published_folder_serves_both_views(published, monkeypatch):
    keras_side = Predictor.load(published, uncertain_band=0.2)
    numpy_side = Predictor.load(published, uncertain_band=0.2, engine="numpy")
    engines = {name: type(v.engine).__name__ for name, v in numpy_side.views.items()}
    assert engines == {"whole": "NumpyNet", "web": "WebEngine"}  # numpy: no TensorFlow
    for data in (solid(200, size=(32, 32)), make_image(300, 200, seed=4)):
        a, b = keras_side.predict_bytes(data), numpy_side.predict_bytes(data)
        assert a.view == b.view and a.p_real == pytest.approx(b.p_real, abs=1e-4)
        assert a.kind and a.reliability.get("roc_auc") is not None
    web = keras_side.predict_bytes(make_image(300, 200, seed=4))
    assert web.view == "web" and web.pixels is None and web.calibrated
    card = keras_side.card["views"]["web"]
    shipped = params.load("web", published.parent / "params.yaml").backbone.name
    assert card["backbone"] == installed_backbone(shipped) and card["image_size"] == WEB_SIZE
    assert web.reliability["n"] == card["metrics"]["n"]  # the held-out groups' figures
    assert keras_side.gradcam(np.zeros((36, 36, 3), np.uint8)).shape == (36, 36)

    from streamlit.testing.v1 import AppTest

    from tests.helpers import ROOT

    monkeypatch.setenv("REALORAI_MODEL_DIR", str(published))
    monkeypatch.delenv("REALORAI_EXAMPLES_DIR", raising=False)
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=60)
    at.run()
    assert not at.exception and not at.error
    at.toggle(key="examples").set_value(True).run()
    assert not at.exception and not at.error and len(at.dataframe[0].value) == 4
    at.switch_page("pages/model.py").run()
    assert not at.exception and not at.error
    subheaders = [s.value for s in at.subheader]
    # each view's section names its kind (the titles before the colon are the app's words)
    assert any(s.endswith(": CIFAKE-sized pictures") for s in subheaders), subheaders
    assert any(s.endswith(": web pictures") for s in subheaders), subheaders


def test_served_p_real_is_the_pipelines_for_every_web_picture(published, evaluated):
    """The same picture bytes: web_features' stored features through train_web's head and
    temperature (what evaluate_web scores) == the published folder through predict_bytes."""
    from dataset import web as store
    from model.evaluate import load_trained
    from model.web_train import head_logits

    calibration = json.loads((evaluated / "data/model_web/calibration.json").read_text())
    head = load_trained(evaluated / "data/model_web/head.keras")
    data = store.load(evaluated / "data/web")
    logits = head_logits(head, data.x(calibration["features"])) / calibration["temperature"]
    pipeline = 1 / (1 + np.exp(-logits))
    predictor = Predictor.load(published, uncertain_band=0.2, warm_up=False)
    pictures = sorted((evaluated / "web-pictures").glob("p*.png"))
    assert len(pictures) == len(data)
    for path in pictures:
        served = predictor.predict_bytes(path.read_bytes())
        expected = float(pipeline[data.id.tolist().index(f"scraped/k/{path.stem[1:]}")])
        assert served.view == "web", path.name  # every made-up web picture is > 64 px
        assert served.p_real == pytest.approx(expected, abs=1e-5), path.name
    assert np.ptp(pipeline) > 0.01


def test_the_published_head_is_the_trained_one(published, evaluated):
    from model.evaluate import load_trained

    card = json.loads((published / "model_card.json").read_text())
    web = card["views"]["web"]
    trained, shipped = (load_trained(Path(p)) for p in (
        evaluated / "data/model_web/head.keras", published / web["file"]))  # fmt: skip
    x = np.random.default_rng(0).normal(size=(3, trained.input_shape[1])).astype(np.float32)
    np.testing.assert_allclose(shipped(x), trained(x), rtol=1e-6)
    calibration = json.loads((evaluated / "data/model_web/calibration.json").read_text())
    assert web["temperature"] == pytest.approx(calibration["temperature"])
    shipped = params.load("web", evaluated / "params.yaml").features
    assert web["features"] == calibration["features"] == list(shipped)
