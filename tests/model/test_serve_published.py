"""The serving side against what the publish stage really writes: the tiny project's
trained whole and patch views, published, then loaded by model/serve.py (both engines)
and drawn by the app without a single error line."""

from __future__ import annotations

import numpy as np
import pytest

from model.serve import Predictor
from pipeline import publish as publish_stage
from tests.helpers import make_image, set_params, solid


@pytest.fixture
def published(evaluated):
    set_params("publish", min_accuracy=0.0, min_web_auc=0.0)
    publish_stage.main()
    return evaluated / "published"


def test_the_published_folder_serves_both_views(published, monkeypatch):
    keras_side = Predictor.load(published, uncertain_band=0.2)
    numpy_side = Predictor.load(published, uncertain_band=0.2, engine="numpy")
    assert {type(v.engine).__name__ for v in numpy_side.views.values()} == {"NumpyNet"}
    for data in (solid(200, size=(32, 32)), make_image(300, 200, seed=4)):
        a, b = keras_side.predict_bytes(data), numpy_side.predict_bytes(data)
        assert a.view == b.view and a.p_real == pytest.approx(b.p_real, abs=1e-4)
        assert a.kind and a.reliability.get("roc_auc") is not None
    web = keras_side.predict_bytes(make_image(300, 200, seed=4))
    assert web.view == "patch" and web.patch_p_real.shape == (2, 2) and web.calibrated
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
    assert "Whole pictures: CIFAKE-sized pictures" in subheaders
    assert "Patches of larger pictures: web pictures" in subheaders
