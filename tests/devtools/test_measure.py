"""devtools.measure: the figures make bench reports come out (their values are the report's)."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from devtools.measure import measure_inference, measure_scrape, web_pictures, web_stand_in
from model.serve import Predictor
from tests.helpers import WEB_SIZE, publish_tiny, whole_view


def _web_pictures(folder, n=6):
    """n JPEGs larger than the whole view's routing side, so the web view judges them."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"{i}.jpg"
        Image.new("RGB", (160 + 8 * i, 120), (40 * i, 90, 200 - 20 * i)).save(path, "JPEG")
        paths.append(str(path))
    return paths


def test_measure_inference_reports_the_web_views_figures(tmp_path):
    model_dir = publish_tiny(tmp_path / "published")
    pictures = _web_pictures(tmp_path / "web")
    figures = measure_inference(model_dir, pictures=pictures, repeats=5, batch=4, batches=2)
    assert figures["web_head"] == "published" and figures["image_size"] == WEB_SIZE
    assert figures["pictures"] == len(pictures)
    for key in (
        "web_picture_ms_p50", "web_picture_ms_p99", "decode_ms_p50", "jpeg_640x480_ms_p50",
        "model_call_ms_p50", "batch_pictures_per_s", "batch_model_pictures_per_s",
        "batch_cpu_ms_per_picture",
    ):  # fmt: skip
        assert figures[key] > 0, key
    # Speed itself is the benchmark's to report (make bench), not a test's to assert.
    assert set(figures["vs_patch_view"]) >= {"jpeg_640x480_ms_p50", "jpeg_640x480_ms_p99"}
    assert figures["targets"]["web_picture_ms_p50"]["met"] in (True, False)
    assert figures["load_average_1min"] >= 0


def test_measure_inference_without_web_pictures_says_so(tmp_path):
    model_dir = publish_tiny(tmp_path / "published")
    figures = measure_inference(model_dir, pictures=[], repeats=3, batch=2, batches=1)
    assert figures["pictures"].startswith("skipped: no web pictures")
    assert "batch_pictures_per_s" not in figures and figures["model_call_ms_p50"] > 0
    assert figures["targets"]["batch_pictures_per_s"]["met"] is None


def test_web_pictures_spreads_the_count_over_the_folders(tmp_path):
    ai, real = _web_pictures(tmp_path / "ai", 6), _web_pictures(tmp_path / "real", 4)
    chosen = web_pictures([tmp_path / "ai", tmp_path / "real", tmp_path / "absent"], count=5)
    assert len(chosen) == 5 and set(chosen) <= set(ai + real)
    assert len([p for p in chosen if p in ai]) == 3
    assert web_pictures([tmp_path / "absent"]) == []


def test_web_stand_in_serves_an_old_cards_whole_view_with_a_web_view(tmp_path):
    """published/ before the web view: views whole + patch, which the card check refuses."""
    old = publish_tiny(tmp_path / "old")
    card = json.loads((old / "model_card.json").read_text())
    card["views"] = {"whole": whole_view(), "patch": {"file": "patch.keras", "image_size": 36}}
    (old / "model_card.json").write_text(json.dumps(card))
    folder = web_stand_in(old, tmp_path / "stand-in", image_size=WEB_SIZE)
    predictor = Predictor.load(folder, uncertain_band=0.2)
    assert set(predictor.views) == {"whole", "web"}
    assert predictor.views["whole"].spec["temperature"] == whole_view()["temperature"]
    picture = Path(_web_pictures(tmp_path / "web", 1)[0]).read_bytes()
    assert predictor.predict_bytes(picture).view == "web"


def test_measure_scrape_reports_rate_and_phases(chromium_available, standin, tmp_path):
    figures = measure_scrape(
        f"{standin}/search", workers=2, limit=5, out_dir=tmp_path / "out", allow_hosts=["127.0.0.1"]
    )
    assert figures["images"] == 5 and figures["images_per_minute"] > 0
    for key in ("seconds_browser", "seconds_network", "seconds_decode", "seconds_total"):
        assert isinstance(figures[key], float)


def test_measure_scrape_takes_the_path_the_page_variant_leaves(
    chromium_available, standin, tmp_path
):
    """make bench compares the script path and the click path through these two variants."""
    for variant, source in (("scriptonly", "from_script"), ("clickonly", "from_preview")):
        figures = measure_scrape(
            f"{standin}/v/{variant}/search", workers=2, limit=5, out_dir=tmp_path / variant,
            allow_hosts=["127.0.0.1"],
        )  # fmt: skip
        assert figures[source] == figures["images"] == 5
