"""devtools.measure: the figures make bench reports come out (their values are the report's)."""

from __future__ import annotations

from devtools.measure import measure_inference, measure_scrape
from tests.helpers import publish_tiny


def test_measure_inference_reports_figures(tmp_path):
    model_dir = publish_tiny(tmp_path / "published")
    figures = measure_inference(model_dir, repeats=20, batch=64)
    for key in ("bytes_ms_p50", "bytes_ms_p99", "pixels_ms_p50", "keras_predict_ms_p50"):
        assert figures[key] > 0
    assert figures["batch_images_per_s"] > 0
    # Speed itself is the benchmark's to report (make bench), not a test's to assert.
    assert figures["predict_vs_direct_ratio"] > 0


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
