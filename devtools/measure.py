"""Figures for `make bench`: one timed scrape and the serving path's latency.

A scrape's path is chosen by the stand-in's page variant (devtools/standin.py):
`/v/scriptonly/search` gives every URL in script data, `/v/clickonly/search` none.

python -m devtools.measure [MODEL_DIR]   # inference figures of a published model
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from model.errors import ModelError
from model.serve import DEFAULT_BAND, Predictor, default_model_dir
from scraper.collect import collect
from scraper.errors import ScrapeError
from scraper.search import SOURCES


def measure_scrape(
    search_url: str,
    *,
    workers: int,
    limit: int,
    out_dir: Path | str,
    allow_hosts=(),
    query: str = "animals",
    label: str = "real",
) -> dict:
    """One timed run (browser started and quit included) for the benchmark.

    Returns numbers only: images, images_per_minute (whole run, browser start
    included), images_per_minute_scraping (without the browser start), seconds
    by phase and how many URLs came from each source (script data, preview
    clicks, thumbnails). Worker phases (network, decode, write) are summed over
    threads, so with several workers they can exceed the wall time. No pauses:
    the stand-in needs no politeness, and pauses would measure the settings.
    """
    report = collect(
        query, label, out_dir, limit=limit, workers=workers, search_url=search_url,
        allow_hosts=allow_hosts, host_delay_s=0.0, click_pause_s=0.0, query_pause_s=0.0,
        log=lambda _line: None,
    )  # fmt: skip
    if report.error:
        raise ScrapeError(report.error)
    total = report.seconds["total"]
    scraping = total - report.seconds["browser_start"]
    return {
        "images": report.new,
        "images_per_minute": round(60 * report.new / total, 1) if total else 0.0,
        "images_per_minute_scraping": round(60 * report.new / scraping, 1) if scraping else 0.0,
        "seconds_total": round(total, 3),
        "seconds_browser_start": round(report.seconds["browser_start"], 3),
        "seconds_browser": round(report.seconds["browser"], 3),
        "seconds_network": round(report.seconds["network"], 3),
        "seconds_decode": round(report.seconds["decode"], 3),
        "seconds_write": round(report.seconds["write"], 3),
        "failures": sum(report.failures.values()),
        **{f"from_{source}": report.new_by_source[source] for source in SOURCES},
    }


def measure_inference(
    model_dir: Path | str | None = None, *, repeats: int = 200, batch: int = 256
) -> dict:
    """Latency and throughput of the serving path on this machine.

    - bytes_ms: one 640x480 JPEG through predict_bytes (decode + resize + model), p50/p99
    - pixels_ms: one S x S picture through predict_pixels (the model call alone)
    - keras_predict_ms: the same picture through model.predict, per call
    - batch_images_per_s: predict_pixels on `batch` pictures at once
    """
    from PIL import Image

    predictor = Predictor.load(model_dir, uncertain_band=DEFAULT_BAND)
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(small).resize((640, 480), Image.BILINEAR).save(buffer, "JPEG", quality=90)
    jpeg = buffer.getvalue()
    size = predictor.size
    pixels = rng.integers(0, 256, (batch, size, size, 3), dtype=np.uint8)
    one = pixels[:1]

    def timed(fn, n):
        fn()  # not counted: the first call may still allocate
        out = []
        for _ in range(n):
            start = time.perf_counter()
            fn()
            out.append((time.perf_counter() - start) * 1000)
        return np.asarray(out)

    bytes_ms = timed(lambda: predictor.predict_bytes(jpeg), repeats)
    pixels_ms = timed(lambda: predictor.predict_pixels(one), repeats)
    model_input = predictor.model_input(one)
    keras_ms = timed(
        lambda: predictor.model.predict(model_input, verbose=0), max(10, repeats // 10)
    )
    gradcam_ms = timed(lambda: predictor.gradcam(one[0]), max(10, repeats // 4))
    batch_ms = timed(lambda: predictor.predict_pixels(pixels), 5)

    def pct(values, q):
        return round(float(np.percentile(values, q)), 3)

    return {
        "model": str(Path(model_dir) if model_dir else default_model_dir()),
        "image_size": size,
        "parameters": int(predictor.model.count_params()),
        "bytes_ms_p50": pct(bytes_ms, 50),
        "bytes_ms_p99": pct(bytes_ms, 99),
        "pixels_ms_p50": pct(pixels_ms, 50),
        "pixels_ms_p99": pct(pixels_ms, 99),
        "keras_predict_ms_p50": pct(keras_ms, 50),
        "predict_vs_direct_ratio": round(float(np.median(keras_ms) / np.median(pixels_ms)), 1),
        "gradcam_ms_p50": pct(gradcam_ms, 50),
        "batch": batch,
        "batch_images_per_s": round(batch / (float(np.median(batch_ms)) / 1000), 1),
        "repeats": repeats,
        "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    try:
        figures = measure_inference(sys.argv[1] if len(sys.argv) > 1 else None)
    except ModelError as e:
        sys.exit(f"error: {e}")
    print(json.dumps(figures, indent=1))
