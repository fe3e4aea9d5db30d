"""`make bench`: the cost of every stage, written to docs/benchmarks/<date>.{json,md}.

Not a DVC stage: it measures them. Each figure is the median of repeated runs, and
every comparison is a ratio taken in the same run (absolute times on a shared
machine drift). Parts whose inputs are missing (no ../shared/data, no published
model, a pipeline not yet built) are reported as skipped, with the reason.

    python -m pipeline.bench [--only scrape,preprocess,training,inference,app,repro]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from scraper.standin import free_port, running, wait_for_port

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DATA", ROOT.parent / "shared" / "data"))
OUT = ROOT / "docs" / "benchmarks"


class Skipped(Exception):
    """A part cannot be measured here; the message says why."""


def median_of(fn: Callable[[], float], repeats: int) -> float:
    return statistics.median(fn() for _ in range(repeats))


# --- scraper ---


def bench_scrape(limit: int = 60, repeats: int = 3) -> dict:
    """Images per minute against the local stand-in at 1 and 4 download workers."""
    root = SHARED / "webscrape"
    if not root.is_dir():
        raise Skipped(f"needs {root} (the pictures behind the Google Images stand-in)")
    from scraper.collect import measure_scrape

    rows = {}
    with running(root) as url:
        for workers in (1, 4):
            runs = []
            for _ in range(repeats):
                with tempfile.TemporaryDirectory() as out:
                    runs.append(
                        measure_scrape(
                            f"{url}/search",
                            workers=workers,
                            limit=limit,
                            out_dir=Path(out),
                            allow_hosts=("127.0.0.1",),
                        )
                    )
            rows[f"workers_{workers}"] = _median_rows(runs)
    one = rows["workers_1"]["images_per_minute"]
    four = rows["workers_4"]["images_per_minute"]
    return {**rows, "limit": limit, "speedup_4_vs_1": round(four / one, 2) if one else None}


def _median_rows(runs: list[dict]) -> dict:
    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float))]
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in keys}


# --- preprocessing ---


def bench_preprocess() -> dict:
    archive = SHARED / "cifake.zip"
    if not archive.is_file():
        raise Skipped(f"needs {archive}")
    from dataset.bench import measure_data_path, measure_preprocess

    return {"preprocess": measure_preprocess(archive), "data_path": measure_data_path(archive)}


# --- training ---


def matmul_peak_gflops(n: int = 2048, repeats: int = 10) -> float:
    """The machine's float32 compute peak as TensorFlow reaches it: a large matmul."""
    import tensorflow as tf

    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    matmul().numpy()

    def once():
        start = time.perf_counter()
        matmul().numpy()
        return time.perf_counter() - start

    return 2 * n**3 / median_of(once, repeats) / 1e9


def forward_flops(model) -> int:
    """Multiply-adds x 2 of the convolutions and dense layers for one picture."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            total += 2 * h * w * c_out * kh * kw * layer.input.shape[-1]
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units
    return int(total)


def bench_training(steps: int = 120, repeats: int = 3) -> dict:
    """Training images/s of the default CNN, and where an epoch's time goes.

    Three timings of the same `steps` batches, in one process:
    - full: model.fit over the real tf.data pipeline (shuffle, augmentation);
    - input: iterating that pipeline alone (what augmentation costs);
    - step: model.fit over one batch already in memory (the model's own cost).
    Achieved FLOP/s = 3 x forward FLOPs (forward + backward) x images/s, as a share
    of the matmul peak measured in the same run.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from model.build import build_model
    from model.data import Split, training_dataset
    from model.train import optimizer_for
    from pipeline.params import load

    params = load("train", ROOT / "params.yaml")
    size = load("preprocess", ROOT / "params.yaml").image_size
    batch = params.batch_size
    n = steps * batch
    rng = np.random.default_rng(0)
    split = Split(
        "bench",
        rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8),
        rng.integers(0, 2, n).astype(np.uint8),
        np.full(n, "bench"),
        np.arange(n).astype(str),
    )
    keras.utils.set_random_seed(0)
    model = build_model(params, size)
    model.compile(optimizer=optimizer_for(params, steps), loss="binary_crossentropy")
    data = training_dataset(split, batch, augment=params.augment, ela=params.ela, seed=0)
    x0, y0 = next(iter(data))
    one_batch = tf.data.Dataset.from_tensors((x0, y0)).repeat(steps)

    def fit(dataset):
        start = time.perf_counter()
        model.fit(dataset, epochs=1, verbose=0)
        return time.perf_counter() - start

    def iterate():
        start = time.perf_counter()
        for _ in data:
            pass
        return time.perf_counter() - start

    fit(data)  # trace and warm up
    full = median_of(lambda: fit(data), repeats)
    step = median_of(lambda: fit(one_batch), repeats)
    pipeline = median_of(iterate, repeats)
    peak = matmul_peak_gflops()
    flops = forward_flops(model)
    rate = n / full
    achieved = 3 * flops * rate / 1e9
    return {
        "architecture": params.architecture,
        "parameters": model.count_params(),
        "batch_size": batch,
        "augment": params.augment,
        "images_per_second": round(rate, 1),
        "model_step_images_per_second": round(n / step, 1),
        "input_pipeline_images_per_second": round(n / pipeline, 1),
        "forward_mflops_per_image": round(flops / 1e6, 2),
        "achieved_gflops": round(achieved, 2),
        "matmul_peak_gflops": round(peak, 1),
        "share_of_peak": round(achieved / peak, 3),
        "bound_by": "input pipeline" if pipeline > 0.5 * full else "model step",
    }


# --- inference ---


def bench_inference() -> dict:
    from model.errors import ModelError
    from model.serve import default_model_dir, measure_inference

    try:
        return measure_inference(default_model_dir())
    except ModelError as e:
        raise Skipped(str(e)) from None


# --- the app ---


def bench_app(repeats: int = 3) -> dict:
    """Seconds from `streamlit run` to the first verdict in headless Chromium."""
    from model.serve import default_model_dir

    if not (default_model_dir() / "model.keras").is_file():
        raise Skipped(f"no published model in {default_model_dir()}")
    from scraper.browser import start_browser

    times = [_app_once(start_browser) for _ in range(repeats)]
    return {"seconds_to_first_verdict": round(statistics.median(times), 2), "repeats": repeats}


def _app_once(start_browser) -> float:
    import io

    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).resize((640, 480)).save(buffer, "JPEG")
    with tempfile.TemporaryDirectory() as folder:
        picture = Path(folder) / "picture.jpg"
        picture.write_bytes(buffer.getvalue())
        return _seconds_to_verdict(start_browser, picture, free_port())


def _seconds_to_verdict(start_browser, picture: Path, port: int) -> float:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    start = time.perf_counter()
    app = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    driver = start_browser()
    try:
        wait_for_port(port, 60)
        driver.get(f"http://127.0.0.1:{port}")
        upload = WebDriverWait(driver, 120).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "input[type=file]")
        )[0]
        upload.send_keys(str(picture))
        WebDriverWait(driver, 120).until(
            lambda d: "p_real = " in d.find_element(By.TAG_NAME, "body").text
        )
        return time.perf_counter() - start
    finally:
        driver.quit()
        app.terminate()
        app.wait(10)


# --- dvc repro with nothing changed ---


def bench_repro(repeats: int = 3) -> dict:
    def dvc(*args):
        return subprocess.run(
            [sys.executable, "-m", "dvc", *args], cwd=ROOT, capture_output=True, text=True
        )

    status = dvc("status", "--json")
    if status.returncode != 0 or json.loads(status.stdout or "{}"):
        raise Skipped("the pipeline is not up to date here; run `make pipeline-offline` first")

    def once():
        start = time.perf_counter()
        result = dvc("repro")
        if "Running stage" in result.stdout:
            raise Skipped("dvc repro ran a stage; the pipeline was not up to date")
        return time.perf_counter() - start

    return {"seconds": round(median_of(once, repeats), 2), "repeats": repeats}


# --- report ---

PARTS = {
    "scrape": bench_scrape,
    "preprocess": bench_preprocess,
    "training": bench_training,
    "inference": bench_inference,
    "app": bench_app,
    "repro": bench_repro,
}


def machine() -> dict:
    import tensorflow as tf

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "platform": platform.platform(),
    }


def markdown(report: dict) -> str:
    lines = [
        f"# Benchmarks {report['date']}",
        "",
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, "
        f"{report['machine']['memory_gib']} GiB, TensorFlow {report['machine']['tensorflow']}.",
        f"Command: `{report['command']}`. Medians of repeated runs; ratios from the same run.",
        "",
        "| part | figure | value |",
        "|---|---|---|",
    ]
    for part, figures in report["parts"].items():
        if "skipped" in figures:
            lines.append(f"| {part} | skipped | {figures['skipped']} |")
            continue
        for key, value in _flatten(figures):
            lines.append(f"| {part} | {key} | {value} |")
    return "\n".join(lines) + "\n"


def _flatten(figures: dict, prefix: str = ""):
    for key, value in figures.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench", description=__doc__)
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts")
    args = parser.parse_args(argv)
    chosen = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(chosen) - set(PARTS))
    if unknown:
        parser.error(f"unknown part {unknown[0]!r} (known: {', '.join(PARTS)})")
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    report = {
        "date": date,
        "command": "make bench"
        if set(chosen) == set(PARTS)
        else f"python -m pipeline.bench --only {','.join(chosen)}",
        "machine": machine(),
        "parts": {},
    }
    for part in chosen:
        print(f"bench: {part}…", file=sys.stderr, flush=True)
        try:
            report["parts"][part] = PARTS[part]()
        except Skipped as e:
            report["parts"][part] = {"skipped": str(e)}
        print(f"bench: {part}: {json.dumps(report['parts'][part])}", file=sys.stderr, flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    stem = OUT / (date if set(chosen) == set(PARTS) else f"{date}-{'-'.join(chosen)}")
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    stem.with_suffix(".md").write_text(markdown(report))
    print(f"wrote {stem}.md and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
