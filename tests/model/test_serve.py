"""model/serve.py on tiny hand-set models: loading errors, the two views and their routing,
calibration, verdicts on the shown number, Grad-CAM, the web view (the installed
Lite0 backbone at 64 px and a hand-set head), engines, threads.

The helpers here (a tiny published folder, solid pictures) are shared with
tests/test_predict.py and tests/test_app*.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest

from dataset.imaging import ImageError, load_image
from model.classes import CLASSES, probabilities
from model.errors import ModelError
from model.serve import Predictor, sigmoid
from tests.helpers import (
    GAIN,
    SIZE,
    WEB_CROPS,
    WEB_SIZE,
    make_image,
    publish_tiny,
    solid,
    tiny_card,
    tiny_model,
    tiny_three_class_model,
    web_view,
    whole_view,
)

FILES = ("model.keras", "web_head.keras", "model_card.json")


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


@pytest.mark.parametrize("missing", FILES)
def test_missing_file_is_named(model_dir, tmp_path, missing):
    folder = tmp_path / "m"
    folder.mkdir()
    for name in FILES:
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
        (
            "model_card.json",
            json.dumps(tiny_card(views={"whole": whole_view(image_size=32)})).encode(),
            "card says (32, 32, 3)",
        ),
        (
            "model_card.json",
            json.dumps(tiny_card(views={"whole": whole_view(input="rgb+ela")})).encode(),
            "(36, 36, 6)",
        ),
        (
            "model_card.json",
            json.dumps(tiny_card(views={"whole": whole_view(temperature=0)})).encode(),
            "views.whole.temperature",
        ),
        (
            "model_card.json",
            json.dumps(tiny_card(views={"web": web_view(features=["pixels"])})).encode(),
            "views.web.features",
        ),
        (
            "model_card.json",
            json.dumps(tiny_card(views={"web": web_view(backbone={"name": "lite0"})})).encode(),
            "views.web.backbone",
        ),
        (
            "model_card.json",
            json.dumps(tiny_card(views={"patch": {"file": "patch.keras"}})).encode(),
            "views.patch is not a view",
        ),
        ("model_card.json", json.dumps(tiny_card(views={})).encode(), "views must name"),
        ("web_head.keras", b"not a zip", "cannot load"),
    ],
)
def test_unreadable_model_or_card_is_one_line(model_dir, tmp_path, name, content, needle):
    folder = tmp_path / "m"
    folder.mkdir()
    for existing in FILES:
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


def test_the_band_is_applied_to_the_number_shown(predictor):
    """0.3996 is shown as 0.400: inside a 0.40-0.60 band, as the visitor reads it."""
    assert predictor.classify(0.3996) == ("ai", "uncertain")
    assert predictor.classify(0.6004) == ("real", "uncertain")
    assert predictor.classify(0.3994) == ("ai", "ai")  # shown 0.399
    assert predictor.classify(0.4996) == ("real", "uncertain")  # shown 0.500 >= threshold
    assert predictor.band_edges() == pytest.approx((0.4, 0.6))


def test_predict_bytes_sees_exactly_load_image_pixels(predictor):
    data = make_image(61, 43, fmt="WEBP", seed=3)  # CIFAKE-sized: the whole view
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


def test_model_without_logit_layer_is_refused_in_one_line(tmp_path):
    with pytest.raises(ModelError, match="no layer named 'logit'") as e:
        Predictor.load(publish_tiny(tmp_path / "m", logit_layer=False), uncertain_band=0.2)
    assert "\n" not in str(e.value)


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
    card = tiny_card(views={"whole": whole_view(input="rgb+ela", temperature=1)})
    (folder / "model_card.json").write_text(json.dumps(card))
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


# --- the two views ---


def test_small_pictures_go_whole_and_larger_ones_to_the_web_view(predictor):
    small = predictor.predict_bytes(solid(255, size=(64, 40)))
    large = predictor.predict_bytes(solid(255, size=(65, 40)))
    assert (small.view, small.kind) == ("whole", "CIFAKE-sized picture")
    assert small.pixels.shape == (SIZE, SIZE, 3)
    assert (large.view, large.kind, large.pixels) == ("web", "web picture", None)
    # Each view's own figures travel with the verdict; calibrated only where measured.
    assert small.reliability["accuracy_ci"] == [0.905, 0.952] and small.calibrated
    assert large.reliability == {
        k: web_view()["metrics"][k]
        for k in ("n", "accuracy", "accuracy_ci", "roc_auc", "roc_auc_ci")
    }
    assert large.calibrated  # web_view(): calibrated on web pictures of held-out groups
    assert large.probabilities is None


def test_routing_uses_the_decoded_size_not_a_reduced_jpeg_decode(predictor):
    # A 300x200 JPEG may decode at 1/2 scale or less; it is still a web picture.
    assert predictor.predict_bytes(make_image(300, 200, seed=1)).view == "web"
    assert predictor.predict_bytes(make_image(2000, 1500, seed=1)).view == "web"
    assert predictor.predict_bytes(make_image(64, 64, seed=1)).view == "whole"
    assert predictor.predict_bytes(make_image(30, 65, seed=1)).view == "web"  # the longer side


def test_the_web_view_is_one_call_on_the_pictures_square_crops(predictor):
    """decode -> the picture's square crops at the web view's size (dataset.views) -> one
    call of backbone + head -> the mean of their logits -> temperature; no heat map."""
    from dataset.imaging import decode_image
    from dataset.views import square_crops

    web = predictor.views["web"]
    for data in (make_image(400, 250, fmt="PNG", seed=5), make_image(90, 300, seed=6)):
        crops = square_crops(decode_image(data), WEB_SIZE, WEB_CROPS)
        assert len(crops) > 1
        expected = sigmoid(web.logits(crops).mean() / 1.5)  # card temperature 1.5
        got = predictor.predict_bytes(data)
        assert got.p_real == pytest.approx(expected, abs=1e-6)
        assert got.pixels is None and getattr(got, "patch_p_real", None) is None


def test_a_card_from_before_crops_squashes_the_picture_as_it_was_trained(tmp_path):
    from dataset.imaging import load_image

    folder = publish_tiny(tmp_path, card=tiny_card(views={"web": web_view(crops=None)}))
    predictor = Predictor.load(folder, uncertain_band=0.2, warm_up=False)
    data = make_image(400, 250, fmt="PNG", seed=5)
    expected = sigmoid(predictor.views["web"].logits(load_image(data, WEB_SIZE)[None])[0] / 1.5)
    assert predictor.predict_bytes(data).p_real == pytest.approx(expected, abs=1e-6)


def test_the_web_view_tells_pictures_apart(predictor):
    """The hand-set head on the real backbone's features: different pictures, different
    answers (a black picture is 'ai', a busy bright one 'real')."""
    black = predictor.predict_bytes(solid(0, size=(200, 150)))
    busy = predictor.predict_bytes(make_image(300, 200, seed=2))
    assert black.view == busy.view == "web"
    assert black.p_real < 0.2 < 0.8 < busy.p_real


def test_a_web_verdict_quotes_the_web_views_threshold_and_band(tmp_path):
    views = {"whole": whole_view(), "web": web_view(threshold=0.3)}
    folder = publish_tiny(tmp_path / "t", card=tiny_card(views=views))
    predictor = Predictor.load(folder, uncertain_band=0.2, warm_up=False)
    assert predictor.classify(0.35, view="web") == ("real", "uncertain")
    assert predictor.classify(0.35, view="whole") == ("ai", "ai")
    assert predictor.band_edges("web") == pytest.approx((0.2, 0.4))


@pytest.mark.parametrize("only", ["whole", "web"])
def test_a_card_with_one_view_sends_every_picture_there(tmp_path, only):
    views = {"whole": whole_view(), "web": web_view()}
    folder = publish_tiny(tmp_path / only, card=tiny_card(views={only: views[only]}))
    predictor = Predictor.load(folder, uncertain_band=0.2, warm_up=False)
    for data in (solid(255), make_image(500, 300)):
        assert predictor.predict_bytes(data).view == only
    assert not (folder / ("web_head.keras" if only == "whole" else "model.keras")).exists()
    assert predictor.whole is (predictor.views["whole"] if only == "whole" else None)


def test_a_card_from_before_the_views_is_one_whole_view(tmp_path):
    metrics = {"accuracy": 0.97, "per_source": {"cifake": {"n": 9, "accuracy": 0.98}}}
    card = {"name": "old", "image_size": SIZE, "temperature": 2.0, "metrics": metrics}
    folder = publish_tiny(tmp_path / "old", card=card)
    predictor = Predictor.load(folder, uncertain_band=0.2)
    assert list(predictor.views) == ["whole"]
    got = predictor.predict_bytes(make_image(500, 300))
    assert got.view == "whole" and got.reliability["accuracy"] == 0.98 and got.calibrated


def test_predictions_from_many_threads_agree(predictor):
    from concurrent.futures import ThreadPoolExecutor

    pictures = [make_image(40 + 30 * i, 40 + 20 * i, seed=i) for i in range(8)]
    alone = [predictor.predict_bytes(d).p_real for d in pictures]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda d: predictor.predict_bytes(d).p_real, pictures * 4))
    np.testing.assert_allclose(together, alone * 4, atol=1e-9)


# --- the numpy engine (the app's first verdicts, before TensorFlow is imported) ---


def test_numpy_engine_gives_the_keras_answers(model_dir, predictor):
    fast = Predictor.load(model_dir, uncertain_band=0.2, engine="numpy")
    engines = {name: type(v.engine).__name__ for name, v in fast.views.items()}
    assert engines == {"whole": "NumpyNet", "web": "KerasEngine"}  # the backbone is Keras only
    for data in (solid(30), make_image(60, 40, seed=1), make_image(640, 480, seed=2)):
        a, b = fast.predict_bytes(data), predictor.predict_bytes(data)
        assert (a.view, a.verdict) == (b.view, b.verdict)
        assert a.p_real == pytest.approx(b.p_real, abs=1e-5)
    assert not fast.has_gradcam
    with pytest.raises(ModelError, match="Grad-CAM needs"):
        fast.gradcam(np.zeros((SIZE, SIZE, 3), np.uint8))


def test_numpy_engine_runs_the_published_cnn_like_keras():
    """The shipped network (conv, batch norm, ReLU, max pooling, flatten, dense)."""
    from model.numpy_net import NumpyNet
    from model.serve import ROOT

    path = ROOT / "published" / "model.keras"
    if not path.is_file():
        pytest.skip("no published model")
    model = keras.saving.load_model(path, compile=False)
    logit = keras.Model(model.inputs, model.get_layer("logit").output)
    size = model.input_shape[1]
    x = np.random.default_rng(0).integers(0, 256, (8, size, size, 3), dtype=np.uint8)
    expected = np.asarray(logit(x)).reshape(-1)
    np.testing.assert_allclose(NumpyNet.load(path).logits(x), expected, atol=1e-4)


def ensemble(members: list, size: int = SIZE) -> keras.Model:
    """Models nested in one, their `logit`s averaged into the layer `logit` (a network
    shape numpy_net runs)."""
    inputs = keras.Input((size, size, 3), dtype="uint8", name="patches")
    logits = [
        keras.Model(m.inputs, m.get_layer("logit").output, name=f"seed_{i}")(inputs)
        for i, m in enumerate(members)
    ]
    logit = keras.layers.Average(name="logit")(logits)
    return keras.Model(inputs, keras.layers.Activation("sigmoid", name="p_real")(logit))


def test_numpy_engine_runs_an_ensemble_of_seeds_and_branches_like_keras(tmp_path):
    from model.numpy_net import NumpyNet

    first, second = tiny_model(), tiny_model()
    second.get_layer("logit").set_weights([np.array([[-7.0]], np.float32), np.ones(1, np.float32)])
    inputs = keras.Input((SIZE, SIZE, 3), dtype="uint8")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    a = keras.layers.Conv2D(2, 3, padding="same", name="last_conv")(x)
    b = keras.layers.Conv2D(2, 1, strides=1)(x)
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Add()([a, b]))
    branched = keras.Model(inputs, keras.layers.Dense(1, name="logit")(x))
    x = np.random.default_rng(3).integers(0, 256, (5, SIZE, SIZE, 3), dtype=np.uint8)
    for model in (ensemble([first, second]), branched):
        model.save(tmp_path / "m.keras")
        expected = np.asarray(keras.Model(model.inputs, model.get_layer("logit").output)(x))
        got = NumpyNet.load(tmp_path / "m.keras").logits(x)
        np.testing.assert_allclose(got, expected.reshape(-1), atol=1e-5)


def test_numpy_engine_leaves_what_it_cannot_run_to_keras(tmp_path):
    from model.numpy_net import NumpyNet, Unsupported

    inputs = keras.Input((SIZE, SIZE, 3), dtype="uint8")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(2, 3, padding="same", name="last_conv")(x)
    x = keras.layers.LayerNormalization()(x)  # not a layer numpy_net runs
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Activation("sigmoid")(keras.layers.Dense(1, name="logit")(x))
    model = keras.Model(inputs, outputs)
    folder = tmp_path / "other"
    folder.mkdir()
    model.save(folder / "model.keras")
    with pytest.raises(Unsupported):
        NumpyNet.load(folder / "model.keras")
    card = tiny_card(views={"whole": whole_view()})
    (folder / "model_card.json").write_text(json.dumps(card))
    fast = Predictor.load(folder, uncertain_band=0.2, engine="numpy")
    assert type(fast.whole.engine).__name__ == "KerasEngine" and fast.has_gradcam


def test_the_card_the_publish_stage_writes_today_is_read(tmp_path):
    """calibrated_on as words naming the calibration pictures (model/card.py)."""
    views = {
        "whole": whole_view(calibrated_on="validation pictures of CIFAKE and the web, whole view"),
        "web": web_view(calibrated_on="web pictures of groups held out of training (art, people)"),
    }
    folder = publish_tiny(tmp_path / "card", card=tiny_card(views=views))
    for engine in ("numpy", "keras"):
        predictor = Predictor.load(folder, uncertain_band=0.2, engine=engine, warm_up=False)
        small, web = (predictor.predict_bytes(d) for d in (solid(255), make_image(300, 200)))
        assert small.calibrated and web.calibrated and web.view == "web"
    uncalibrated = tiny_card(views={"web": web_view(calibrated_on=None)})
    folder = publish_tiny(tmp_path / "none", card=uncalibrated)
    web = Predictor.load(folder, uncertain_band=0.2, warm_up=False).predict_bytes(
        make_image(300, 200)
    )
    assert web.view == "web" and not web.calibrated


def test_numpy_engine_does_not_import_tensorflow(tmp_path):
    """With the whole view alone (the web view's backbone always runs in Keras)."""
    import subprocess
    import sys

    from model.serve import ROOT

    model_dir = publish_tiny(tmp_path / "whole", card=tiny_card(views={"whole": whole_view()}))
    code = (
        "import sys; from model.serve import Predictor; "
        f"p = Predictor.load({str(model_dir)!r}, uncertain_band=0.2, engine='numpy'); "
        "import io; from PIL import Image; b = io.BytesIO(); "
        "Image.new('RGB', (300, 200)).save(b, 'PNG'); p.predict_bytes(b.getvalue()); "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split()[-2:] == ["False", "False"], done.stderr[-2000:]


def test_a_one_view_card_gives_no_borrowed_figures_for_the_other_kind(tmp_path):
    """A whole-only card judges a web picture whole, but its CIFAKE figures and its
    calibration are not claimed for it."""
    folder = publish_tiny(tmp_path / "whole", card=tiny_card(views={"whole": whole_view()}))
    predictor = Predictor.load(folder, uncertain_band=0.2)
    small, web = (predictor.predict_bytes(d) for d in (solid(255), make_image(640, 480)))
    assert (small.kind, small.calibrated, small.reliability["n"]) == (
        "CIFAKE-sized picture",
        True,
        400,
    )
    assert (web.view, web.kind, web.calibrated, web.reliability) == (
        "whole",
        "web picture",
        False,
        {},
    )


# --- a three-class view (real, modified, ai) ---


@pytest.fixture(scope="module")
def three_dir(tmp_path_factory) -> Path:
    card = tiny_card(views={"whole": whole_view(classes=list(CLASSES)), "web": web_view()})
    folder = publish_tiny(tmp_path_factory.mktemp("three"), card=card)
    tiny_three_class_model().save(folder / "model.keras")  # model.build's softmax head
    return folder


def test_a_three_class_view_gives_three_probabilities_and_p_real_is_the_first(three_dir):
    predictor = Predictor.load(three_dir, uncertain_band=0.2)
    assert predictor.classes == CLASSES
    whole = predictor.predict_bytes(make_image(30, 30, seed=5))
    assert whole.view == "whole" and list(whole.probabilities) == list(CLASSES)
    assert sum(whole.probabilities.values()) == pytest.approx(1.0)
    assert whole.p_real == pytest.approx(whole.probabilities["real"])
    # calibrated: softmax(logits / T) with the card's temperature
    logits = predictor.whole.logits(whole.pixels[None])
    assert logits.shape == (1, 3)
    expected = probabilities(logits, 2.0)[0]
    assert list(whole.probabilities.values()) == pytest.approx(list(expected))
    web = predictor.predict_bytes(make_image(300, 200))  # the two-class web view
    assert web.view == "web" and web.probabilities is None
    batch = np.random.default_rng(0).integers(0, 256, (3, SIZE, SIZE, 3), dtype=np.uint8)
    assert predictor.predict_pixels(batch).shape == (3,)
    heat = predictor.gradcam(whole.pixels)
    assert heat.shape == (SIZE, SIZE) and np.isfinite(heat).all()


def test_the_numpy_engine_runs_a_three_class_view_like_keras(three_dir):
    fast = Predictor.load(three_dir, uncertain_band=0.2, engine="numpy")
    slow = Predictor.load(three_dir, uncertain_band=0.2)
    assert type(fast.whole.engine).__name__ == "NumpyNet"
    for seed in range(3):
        a, b = (p.predict_bytes(make_image(32, 32, seed=seed)) for p in (fast, slow))
        assert a.p_real == pytest.approx(b.p_real, abs=1e-5)
        for name in CLASSES:
            assert a.probabilities[name] == pytest.approx(b.probabilities[name], abs=1e-5)


@pytest.mark.parametrize(
    "classes, model, needle",
    [
        (["real", "ai", "modified"], "three", "classes must be null or"),
        (list(CLASSES), "two", "must output (N, 3)"),
        (None, "three", "must output (N, 1)"),
    ],
)
def test_the_card_and_the_head_must_agree_on_the_classes(tmp_path, classes, model, needle):
    card = tiny_card(views={"whole": whole_view(classes=classes)})
    folder = publish_tiny(tmp_path / "m", card=card)
    if model == "three":
        tiny_three_class_model().save(folder / "model.keras")
    for engine in ("keras", "numpy"):
        with pytest.raises(ModelError, match=re.escape(needle)):
            Predictor.load(folder, uncertain_band=0.2, engine=engine)


def test_a_web_only_card_claims_no_figures_for_a_small_picture(tmp_path):
    """The web view judges a CIFAKE-sized picture when it is the only view, but its web
    figures and calibration are not claimed for that kind."""
    folder = publish_tiny(tmp_path / "web", card=tiny_card(views={"web": web_view()}))
    predictor = Predictor.load(folder, uncertain_band=0.2, warm_up=False)
    small, large = (predictor.predict_bytes(d) for d in (solid(255), make_image(640, 480)))
    assert (small.view, small.kind, small.calibrated, small.reliability) == (
        "web", "CIFAKE-sized picture", False, {},
    )  # fmt: skip
    assert (large.view, large.kind, large.calibrated) == ("web", "web picture", True)
    assert large.reliability["roc_auc"] == web_view()["metrics"]["roc_auc"]
    with pytest.raises(ModelError, match="needs a whole view"):
        predictor.region_map(np.zeros((WEB_SIZE, WEB_SIZE, 3), np.uint8))
