"""model/serve.py on a tiny hand-set model: loading errors, calibration, verdicts, Grad-CAM, speed.

The helpers here (a tiny published folder, solid pictures) are shared with
tests/test_predict.py and tests/test_app*.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from dataset.imaging import ImageError, load_image
from model.errors import ModelError
from model.serve import Predictor, sigmoid
from tests.helpers import GAIN, SIZE, make_image, publish_tiny, solid, tiny_card


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return publish_tiny(tmp_path_factory.mktemp("published"))


@pytest.fixture(scope="module")
def predictor(model_dir) -> Predictor:
    return Predictor.load(model_dir, uncertain_band=0.2)


# --- loading ---


def test_missing_folder_is_one_line_with_the_fix(tmp_path):
    with pytest.raises(ModelError) as e:
        Predictor.load(tmp_path / "published", uncertain_band=0.2)
    message = str(e.value)
    assert "\n" not in message and "make pipeline-offline" in message and "dvc repro" in message


@pytest.mark.parametrize("missing", ["model.keras", "model_card.json"])
def test_missing_file_is_named(model_dir, tmp_path, missing):
    folder = tmp_path / "m"
    folder.mkdir()
    for name in ("model.keras", "model_card.json"):
        if name != missing:
            (folder / name).write_bytes((model_dir / name).read_bytes())
    with pytest.raises(ModelError, match=missing):
        Predictor.load(folder, uncertain_band=0.2)


@pytest.mark.parametrize(
    "name, content, needle",
    [
        ("model.keras", b"not a zip", "cannot load"),
        ("model_card.json", b"{broken", "not readable JSON"),
        ("model_card.json", b"[1, 2]", "JSON object"),
        ("model_card.json", json.dumps(tiny_card(image_size=32)).encode(), "image_size 32"),
        ("model_card.json", json.dumps(tiny_card(input="rgb+ela")).encode(), "rgb+ela"),
        ("model_card.json", json.dumps(tiny_card(temperature=0)).encode(), "temperature"),
    ],
)
def test_unreadable_model_or_card_is_one_line(model_dir, tmp_path, name, content, needle):
    folder = tmp_path / "m"
    folder.mkdir()
    for existing in ("model.keras", "model_card.json"):
        (folder / existing).write_bytes((model_dir / existing).read_bytes())
    (folder / name).write_bytes(content)
    with pytest.raises(ModelError) as e:
        Predictor.load(folder, uncertain_band=0.2)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_band_defaults_to_params_yaml(model_dir):
    from model.serve import ROOT
    from settings import params

    expected = params.load("app", ROOT / "params.yaml").uncertain_band
    assert Predictor.load(model_dir, warm_up=False).band == expected


# --- predictions ---


def test_calibrated_probability_uses_the_temperature(predictor):
    pixels = np.stack([np.full((SIZE, SIZE, 3), v, np.uint8) for v in (0, 255, 153)])
    p = predictor.predict_pixels(pixels)
    logits = GAIN * (pixels.reshape(3, -1).mean(axis=1) / 255 - 0.5)
    np.testing.assert_allclose(p, sigmoid(logits / 2.0), atol=1e-5)  # card temperature 2
    assert p.shape == (3,) and p.dtype == np.float64


def test_verdicts_and_the_uncertain_band(predictor):
    white, black, grey = (predictor.predict_bytes(solid(v)) for v in (255, 0, 128))
    assert (white.label, white.verdict) == ("real", "real") and white.p_real > 0.9
    assert (black.label, black.verdict) == ("ai", "ai") and black.p_real < 0.1
    assert grey.verdict == "uncertain" and abs(grey.p_real - 0.5) < 0.1
    assert predictor.classify(0.61) == ("real", "real")
    assert predictor.classify(0.59) == ("real", "uncertain")
    assert predictor.classify(0.41) == ("ai", "uncertain")
    assert predictor.classify(0.39) == ("ai", "ai")
    assert white.milliseconds > 0 and white.pixels.shape == (SIZE, SIZE, 3)


def test_predict_bytes_sees_exactly_load_image_pixels(predictor):
    data = make_image(301, 217, fmt="WEBP", seed=3)
    expected = predictor.predict_pixels(load_image(data, SIZE)[None])[0]
    assert predictor.predict_bytes(data).p_real == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    "data, needle",
    [
        (b"<!doctype html><html><body>nope</body></html>", "HTML"),
        (make_image(64, 64, fmt="JPEG")[:300], "corrupt or truncated"),
        (b"", "empty"),
    ],
)
def test_bad_bytes_raise_one_line_image_error(predictor, data, needle):
    with pytest.raises(ImageError, match=needle):
        predictor.predict_bytes(data)


def test_byte_cap_is_passed_to_the_decoder(predictor):
    with pytest.raises(ImageError, match="too large"):
        predictor.predict_bytes(make_image(64, 64), max_bytes=100)


def test_wrong_pixels_are_refused(predictor):
    with pytest.raises(ModelError, match="uint8"):
        predictor.predict_pixels(np.zeros((1, SIZE, SIZE, 3), np.float32))
    with pytest.raises(ModelError, match="shape"):
        predictor.predict_pixels(np.zeros((1, 32, 32, 3), np.uint8))
    assert predictor.predict_pixels(np.zeros((0, SIZE, SIZE, 3), np.uint8)).shape == (0,)


def test_batches_of_any_size_match_single_calls(predictor):
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, (37, SIZE, SIZE, 3), dtype=np.uint8)
    together = predictor.predict_pixels(batch)
    alone = np.array([predictor.predict_pixels(b[None])[0] for b in batch[:5]])
    np.testing.assert_allclose(together[:5], alone, atol=1e-6)


def test_model_without_logit_layer_inverts_the_sigmoid(tmp_path, predictor):
    other = Predictor.load(publish_tiny(tmp_path / "m", logit_layer=False), uncertain_band=0.2)
    pixels = np.random.default_rng(1).integers(0, 256, (4, SIZE, SIZE, 3), dtype=np.uint8)
    np.testing.assert_allclose(
        other.predict_pixels(pixels), predictor.predict_pixels(pixels), atol=1e-5
    )


def test_ela_model_gets_its_six_channels(tmp_path):
    """Card input rgb+ela: the predictor adds model.ela's channels to load_image's pixels."""
    from model.ela import add_ela

    inputs = keras.Input((SIZE, SIZE, 6), dtype="uint8")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(2, 3, padding="same", name="last_conv")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    logit = keras.layers.Dense(1, name="logit")(x)
    model = keras.Model(inputs, keras.layers.Activation("sigmoid")(logit))
    folder = tmp_path / "ela"
    folder.mkdir()
    model.save(folder / "model.keras")
    (folder / "model_card.json").write_text(json.dumps(tiny_card(input="rgb+ela", temperature=1)))
    predictor = Predictor.load(folder, uncertain_band=0.2)
    pixels = load_image(make_image(80, 60), SIZE)
    expected = float(model(add_ela(pixels[None]))[0, 0])
    assert predictor.predict_pixels(pixels[None])[0] == pytest.approx(expected, abs=1e-5)
    assert predictor.gradcam(pixels).shape == (SIZE, SIZE)


# --- Grad-CAM ---


def test_gradcam_points_at_the_evidence(predictor):
    # A white square on black: the picture is dark overall (ai), and the evidence for
    # "ai" is the dark part, so the map must be hot on black and cold on the square.
    pixels = np.zeros((SIZE, SIZE, 3), np.uint8)
    pixels[:12, :12] = 255
    assert predictor.classify(predictor.predict_pixels(pixels[None])[0])[0] == "ai"
    heat = predictor.gradcam(pixels)
    assert heat.shape == (SIZE, SIZE) and heat.dtype == np.float32
    assert heat.min() >= 0 and heat.max() == pytest.approx(1.0)
    assert heat[30:, 30:].mean() > 0.9 and heat[:8, :8].mean() < 0.1

    # Mostly white: real, and the evidence is the white part.
    heat = predictor.gradcam(255 - pixels)
    assert heat[30:, 30:].mean() > 0.9 and heat[:8, :8].mean() < 0.1


def test_gradcam_without_evidence_is_zero_not_nan(predictor):
    heat = predictor.gradcam(np.full((SIZE, SIZE, 3), 255, np.uint8))  # no dark part
    assert np.isfinite(heat).all()
