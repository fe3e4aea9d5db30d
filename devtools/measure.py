"""Figures for `make bench`: one timed scrape and the web view's serving speed.

A scrape's path is chosen by the stand-in's page variant (devtools/standin.py):
`/v/scriptonly/search` gives every URL in script data, `/v/clickonly/search` none.

    python -m devtools.measure [MODEL_DIR]   # the web view's figures (measure_inference)

Web pictures come from $SHARED_DATA/webscrape/{ai,real} (default ../shared/data), read
where they are; MODEL_DIR defaults to published/ (a stand-in web head when it has none).
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


WEB_SIZE = 224  # the stand-in's input side: Lite0's, the backbone it is built on
PATCH_VIEW = {"jpeg_640x480_ms_p50": 14.6, "jpeg_640x480_ms_p99": 32.3}  # 2026-11-30
TARGETS = {"web_picture_ms_p50": 60.0, "batch_pictures_per_s": 40.0}  # the issue's
STAND_IN_NOTE = (
    "{source} has no web view yet: the whole view from it and a web head with random "
    "weights (speed does not depend on the weights)"
)


def web_pictures(folders=None, count: int = 200) -> list[str]:
    """`count` pictures spread evenly over the scraped web pictures (sorted, half from each
    folder), found as model.predict finds them; [] when the folders are absent."""
    from model.predict import find_images

    folders = [Path(f) for f in folders] if folders is not None else WEB_PICTURES
    present = [f for f in folders if f.is_dir()]
    out: list[str] = []
    for i, folder in enumerate(present):
        found = [path for path, problem in find_images([str(folder)]) if problem is None]
        # the first folders take the odd one out, so a count of 1 still picks one picture
        want = count // len(present) + (i < count % len(present))
        step = max(1, len(found) // max(1, want))
        out += found[::step][:want]
    return out


def web_stand_in(source: Path | str, folder: Path | str, image_size: int = WEB_SIZE) -> Path:
    """A published folder to measure the web view with, in `folder`: the card and whole
    view of `source` (when it has one) and a web view on the installed backbone whose head
    has random weights. For a published/ written before the web view (views whole + patch)."""
    import shutil

    from model import backbone, published
    from model.web_view import head_model

    source, folder = Path(source), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        old = json.loads((source / published.CARD_FILE).read_text())
    except (OSError, ValueError):
        old = {}
    views = {}
    whole = (old.get("views") or {}).get("whole")
    if whole and (source / whole.get("file", published.MODEL_FILE)).is_file():
        views["whole"] = whole
        name = whole.get("file", published.MODEL_FILE)
        shutil.copyfile(source / name, folder / name)
    info = backbone.describe("lite0")
    features = ["head", "mid"]
    width = sum(info["feature_sizes"][f] for f in features)
    weights = np.random.default_rng(0).normal(0, 0.01, width).astype(np.float32)
    head = head_model(np.zeros(width, np.float32), np.ones(width, np.float32), weights, 0.0)
    head.save(folder / published.WEB_FILE)
    views["web"] = {
        "file": published.WEB_FILE,
        "image_size": image_size,
        "features": features,
        "backbone": {"name": "lite0", **{k: info[k] for k in published.BACKBONE_KEYS[1:]}},
        "kind": "web picture",
    }
    card = {
        "name": "web view stand-in (devtools.measure)",
        "labels": published.LABELS,
        "routing": {"whole_max_side": (old.get("routing") or {}).get("whole_max_side", 64)},
        "views": views,
    }
    (folder / published.CARD_FILE).write_text(json.dumps(card, indent=1))
    return folder


def _has_web_view(model_dir: Path) -> bool:
    from model import published

    try:
        return published.WEB in published.read_card(model_dir)["views"]
    except ModelError:
        return False


def measure_inference(
    model_dir: Path | str | None = None,
    *,
    pictures: list[str] | None = None,
    repeats: int = 100,
    batch: int = 32,
    batches: int = 8,
) -> dict:
    """Latency and throughput of the web view through model.predict's path on this machine
    (find_images -> read_bytes -> predictor.prepare -> predictor.score: decode, resize to
    the card's image_size, backbone + head in one tf.function call).

    A `model_dir` without a web view (published/ before the pipeline re-publishes) is
    measured through web_stand_in: same backbone, a random head. `pictures` are files
    (default: web_pictures(), the scraped pictures in the shared data folder).
    - web_picture_ms: each picture alone through the predict path, p50/p99 over pictures
    - decode_ms: its read + prepare (decode, resize) alone
    - jpeg_640x480_ms: one 640x480 JPEG through predict_bytes, `repeats` times (the figure
      the patch view was measured by, for the ratio)
    - model_call_ms: one picture at the card's size through the web view's model call alone
    - batch_pictures_per_s: model.predict's classify over the pictures in batches of
      `batch`, reading, provenance and decoding included; batch_model_pictures_per_s:
      the model call alone on `batch` pictures; batch_cpu_ms_per_picture and
      batch_cores_used (this process's CPU time, per picture and per wall second) tell a
      slow machine from a machine shared with other jobs
    - load_average_1min: the higher of before and after (2 cores: above 2, others' jobs)
    """
    import tempfile

    from model.predict import classify, read_bytes

    load_before = os.getloadavg()[0]
    source = Path(model_dir) if model_dir else default_model_dir()
    pictures = web_pictures() if pictures is None else list(pictures)
    with tempfile.TemporaryDirectory() as temp:
        folder, note = source, "published"
        if not _has_web_view(source):
            folder = web_stand_in(source, Path(temp) / "published")
            note = STAND_IN_NOTE.format(source=_shown(source))
        predictor = Predictor.load(folder, uncertain_band=DEFAULT_BAND)
    view = predictor.views["web"]
    size = view.size
    rng = np.random.default_rng(0)
    one = rng.integers(0, 256, (1, size, size, 3), dtype=np.uint8)
    many = rng.integers(0, 256, (batch, size, size, 3), dtype=np.uint8)

    figures = {
        "model": _shown(source),
        "web_head": note,
        "image_size": size,
        "parameters": int(view.model.count_params()),
        "threads": _threads(),
    }
    if pictures:

        def alone(path):
            start = time.perf_counter()
            prepared = predictor.prepare(read_bytes(path))
            decoded = time.perf_counter()
            prediction = predictor.score([prepared])[0]
            assert prediction.view == "web", f"{path} was judged by the {prediction.view} view"
            return (decoded - start) * 1000, (time.perf_counter() - start) * 1000

        alone(pictures[0])  # not counted: the first call may still allocate
        runs = np.asarray([alone(path) for path in pictures])
        figures |= {
            "pictures": len(pictures),
            "picture_megapixels_p50": _megapixels(pictures),
            "web_picture_ms_p50": _pct(runs[:, 1], 50),
            "web_picture_ms_p99": _pct(runs[:, 1], 99),
            "decode_ms_p50": _pct(runs[:, 0], 50),
            "decode_ms_p99": _pct(runs[:, 0], 99),
        }
    else:
        figures["pictures"] = f"skipped: no web pictures in {', '.join(map(str, WEB_PICTURES))}"
    jpeg = _jpeg(640, 480)
    jpeg_ms = _timed(lambda: predictor.predict_bytes(jpeg), repeats)
    model_ms = _timed(lambda: view.logits(one), repeats)
    batch_ms = _timed(lambda: view.logits(many), batches)
    figures |= {
        "jpeg_640x480_ms_p50": _pct(jpeg_ms, 50),
        "jpeg_640x480_ms_p99": _pct(jpeg_ms, 99),
        "model_call_ms_p50": _pct(model_ms, 50),
        "model_call_ms_p99": _pct(model_ms, 99),
        "batch": batch,
        "batch_model_pictures_per_s": round(batch / (float(np.median(batch_ms)) / 1000), 1),
    }
    if pictures:
        found = [(path, None) for path in pictures]

        def through_predict():
            start, cpu = time.perf_counter(), time.process_time()
            rows = list(classify(predictor, found, batch))
            assert not any(row.error for row in rows), [r.error for r in rows if r.error]
            return time.perf_counter() - start, time.process_time() - cpu

        seconds, cpu_seconds = np.median([through_predict() for _ in range(3)], axis=0)
        cpu_ms = 1000 * float(cpu_seconds) / len(pictures)
        figures |= {
            "batch_pictures_per_s": round(len(pictures) / float(seconds), 1),
            # this process's CPU time (all its threads): what other jobs stretch least
            "batch_cpu_ms_per_picture": round(cpu_ms, 2),
            # cores this process had on average: below os.cpu_count(), other jobs took them
            "batch_cores_used": round(float(cpu_seconds / seconds), 2),
            # the pictures/s those CPU milliseconds allow when every core is this job's
            "batch_pictures_per_s_cpu_bound": round(1000 * (os.cpu_count() or 1) / cpu_ms, 1),
        }
    figures["vs_patch_view"] = {
        key: round(figures[key] / old, 2) for key, old in PATCH_VIEW.items()
    } | {"patch_view_" + key: old for key, old in PATCH_VIEW.items()}
    figures["targets"] = {
        key: {"target": limit, "met": _met(key, figures.get(key), limit)}
        for key, limit in TARGETS.items()
    }
    figures |= {
        "repeats": repeats,
        "cpus": os.cpu_count(),
        # on a shared machine, other jobs' load says how far these figures are inflated
        "load_average_1min": round(max(load_before, os.getloadavg()[0]), 1),
    }
    return figures


WEB_PICTURES = [
    Path(os.environ.get("SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    / "webscrape" / label
    for label in ("ai", "real")
]  # fmt: skip


def _met(key: str, value, limit: float):
    if not isinstance(value, (int, float)):
        return None
    return value <= limit if key.endswith("_ms_p50") else value >= limit


def _threads() -> dict:
    import tensorflow as tf

    return {
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
    }


def _timed(fn, n: int) -> np.ndarray:
    fn()  # not counted: the first call may still allocate
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return np.asarray(out)


def _pct(values, q) -> float:
    return round(float(np.percentile(values, q)), 3)


def _jpeg(width: int, height: int) -> bytes:
    from PIL import Image

    small = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(small).resize((width, height), Image.BILINEAR).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _megapixels(pictures: list[str]) -> float:
    from PIL import Image

    sizes = []
    for path in pictures:
        with Image.open(path) as image:
            sizes.append(image.size[0] * image.size[1] / 1e6)
    return round(float(np.median(sizes)), 3)


def _shown(path: Path) -> str:
    """A folder as the README names it: relative to the repository when inside it."""
    root = Path(__file__).resolve().parents[1]
    path = Path(path).resolve()
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


if __name__ == "__main__":
    try:
        figures = measure_inference(sys.argv[1] if len(sys.argv) > 1 else None)
    except ModelError as e:
        sys.exit(f"error: {e}")
    print(json.dumps(figures, indent=1))
