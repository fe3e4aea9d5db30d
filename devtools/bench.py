"""`make bench`: the cost of every stage, written to docs/benchmarks/<date>.{json,md}.

Not a DVC stage: it measures them. Each figure is the median of repeated runs, and
every comparison is a ratio taken in the same run (absolute times on a shared
machine drift). Parts whose inputs are missing (no ../shared/data, no published
model, a pipeline not yet built) are reported as skipped, with the reason.

Where a figure is far from its limit, the part's `bound_by` says what bounds it and its
`profile` holds the evidence, from a profiler (devtools/profiling.py): a TensorFlow
trace of training steps; cProfile of model.predict's path over web pictures, of
decoding CIFAKE on one process, and of a scrape's browser thread. The report lists
them under "What bounds each part".

    python -m devtools.bench [--only scrape,preprocess,training,inference,app,repro]

`inference` (alias `web`) measures the web view through model.predict's path
(devtools/measure.py), on the scraped web pictures in ../shared/data/webscrape.
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

import numpy as np

from devtools import profiling
from devtools.standin import running

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DATA", ROOT.parent / "shared" / "data"))
OUT = ROOT / "docs" / "benchmarks"


class Skipped(Exception):
    """A part cannot be measured here; the message says why."""


def median_of(fn: Callable[[], float], repeats: int) -> float:
    return statistics.median(fn() for _ in range(repeats))


# --- scraper ---


def bench_scrape(limit: int = 200, repeats: int = 3, workers: int = 4) -> dict:
    """Images per minute against the local stand-in: URLs from script data vs preview clicks.

    Same run, same pictures, same workers: only the stand-in's page variant differs
    (every result in the page's script data, or none, so every URL needs a click).
    `limit` is scrape.limit's default: a stage's run, browser start included once.
    """
    root = SHARED / "webscrape"
    if not root.is_dir():
        raise Skipped(f"needs {root} (the pictures behind the Google Images stand-in)")
    from devtools.measure import measure_scrape

    rows = {}
    with running(root) as url:
        for path, variant in (("script", "scriptonly"), ("click", "clickonly")):
            runs = []
            for _ in range(repeats):
                with tempfile.TemporaryDirectory() as out:
                    runs.append(
                        measure_scrape(
                            f"{url}/v/{variant}/search",
                            workers=workers,
                            limit=limit,
                            out_dir=Path(out),
                            allow_hosts=("127.0.0.1",),
                        )  # fmt: skip
                    )
            rows[f"{path}_path"] = _median_rows(runs)
        profile = profile_scrape(f"{url}/v/clickonly/search", 30)
    script = rows["script_path"]["images_per_minute"]
    click = rows["click_path"]["images_per_minute"]
    return {
        **rows,
        "limit": limit,
        "workers": workers,
        "script_vs_click": round(script / click, 2) if click else None,
        "bound_by": scrape_bound_by(profile),
        "profile": profile,
    }


WEBDRIVER_COMMAND = ("selenium/webdriver/remote/remote_connection.py", "execute")
SLEEP = ("~", "<built-in method time.sleep>")


def profile_scrape(search_url: str, limit: int) -> dict:
    """cProfile of one click-path scrape's main thread (the browser's side; downloads run in
    threads)."""
    from devtools.measure import measure_scrape

    with tempfile.TemporaryDirectory() as out:
        stats = profiling.cprofile(
            lambda: measure_scrape(
                search_url, workers=4, limit=limit, out_dir=Path(out), allow_hosts=("127.0.0.1",)
            )
        )
    commands = profiling.calls(stats, WEBDRIVER_COMMAND)
    webdriver_s = profiling.cumulative(stats, WEBDRIVER_COMMAND)
    parts = {
        "WebDriver commands (round trips to chromedriver)": webdriver_s,
        "sleeps (time.sleep)": profiling.cumulative(stats, SLEEP),
    }
    return {
        "profiler": f"cProfile, one click-path scrape of {limit} images, main thread",
        "seconds_profiled": round(stats.total_tt, 2),
        "top": profiling.split(stats.total_tt, parts),
        "webdriver_commands": commands,
        "ms_per_webdriver_command": round(1000 * webdriver_s / commands, 1) if commands else None,
        "sleep_callers": profiling.callers(stats, SLEEP),
        "top_self": profiling.top_self(stats, 3),
    }


def scrape_bound_by(profile: dict) -> str:
    sleeper = profile["sleep_callers"][0] if profile["sleep_callers"] else None
    where = f" ({sleeper['share']:.0%} of them in {sleeper['name']})" if sleeper else ""
    return (
        f"the browser: {_shares(profile['top'])} of the main thread's time{where}; "
        f"{profile['webdriver_commands']} WebDriver commands at "
        f"{profile['ms_per_webdriver_command']} ms each"
    )


def _median_rows(runs: list[dict]) -> dict:
    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float))]
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in keys}


# --- preprocessing ---


def bench_preprocess() -> dict:
    archive = SHARED / "cifake.zip"
    if not archive.is_file():
        raise Skipped(f"needs {archive}")
    from devtools.data_bench import measure_data_path, measure_preprocess
    from settings.params import load

    profile = profile_decode(archive, load("preprocess", ROOT / "params.yaml").image_size)
    data_path = measure_data_path(archive)
    return {
        "preprocess": measure_preprocess(archive, data_path),
        "data_path": data_path,
        "bound_by": decode_bound_by(profile),
        "profile": profile,
    }


READ_BYTES = ("dataset/decode.py", "read_bytes")
LOAD_IMAGE = ("dataset/imaging.py", "load_image")
DECODE_IMAGE = ("dataset/imaging.py", "decode_image")


def profile_decode(archive: Path, size: int, pictures: int = 3000) -> dict:
    """cProfile of dataset.decode.load_all on one process over `pictures` CIFAKE pictures.

    Opening the archive reads its directory of 120,000 entries once per process,
    whatever the number of pictures, so it is reported apart from the per-picture
    split (read the member, decode, resize). cProfile slows Python code more than C
    code, so Python-heavy parts weigh more here than unprofiled (both times given).
    """
    import zipfile

    from dataset import cifake
    from dataset.decode import load_all
    from dataset.imaging import load_image

    start = time.perf_counter()
    with zipfile.ZipFile(archive) as opened:
        directory_seconds = time.perf_counter() - start
        names = [n for n in opened.namelist() if cifake.split_and_label(n)]
        sample = names[:: max(1, len(names) // pictures)][:pictures]
        load_image(opened.read(sample[0]), size)  # decoders' first-use set-up: not counted
    # (row, path, member, format, width, height): no store row, so each is decoded
    items = [(-1, str(archive), name, "", 0, 0) for name in sample]
    start = time.perf_counter()
    load_all(items, size, n_workers=1)
    seconds = time.perf_counter() - start
    stats = profiling.cprofile(lambda: load_all(items, size, n_workers=1))
    directory = profiling.called_from(stats, READ_BYTES, ("zipfile.py", "__init__"))
    per_picture = profiling.cumulative(stats, ("dataset/decode.py", "load_all")) - directory
    parts = {
        "read member from zip": profiling.called_from(stats, READ_BYTES, ("zipfile.py", "read")),
        "decode (decode_image)": profiling.called_from(stats, LOAD_IMAGE, DECODE_IMAGE),
        "resize (resize_image)": profiling.called_from(
            stats, LOAD_IMAGE, ("dataset/imaging.py", "resize_image")
        ),
    }
    return {
        "profiler": f"cProfile, load_all on 1 process over {len(items)} CIFAKE pictures",
        "seconds": round(seconds, 2),
        "seconds_profiled": round(stats.total_tt, 2),
        "zip_directory_seconds": round(directory_seconds, 2),
        "zip_directory_seconds_profiled": round(directory, 2),
        "us_per_picture": round(1e6 * (seconds - directory_seconds) / len(items)),
        "us_per_picture_profiled": round(1e6 * per_picture / len(items)),
        "top": profiling.split(per_picture, parts),
        "decode_callees": profiling.callees(stats, DECODE_IMAGE, top=3),
    }


def decode_bound_by(profile: dict) -> str:
    return (
        f"per picture: {_shares(profile['top'])}; within decode: "
        f"{_shares(profile['decode_callees'], 2)}; plus "
        f"{profile['zip_directory_seconds']} s per process reading the zip's directory"
    )


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
    of the matmul peak measured in the same run. What bounds it comes from a
    TensorFlow-profiler trace of a further fit (profile_training).
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from dataset.prepared import Split
    from model.build import build_model
    from model.data import training_dataset
    from model.train import optimizer_for
    from settings.params import load

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
    profile = profile_training(model, data)
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
        "step_ms": round(1000 * full / steps, 2),
        "bound_by": training_bound_by(profile),
        "profile": profile,
    }


def profile_training(model, data, steps: int = 40) -> dict:
    """TensorFlow-profiler trace of `steps` steps of model.fit over `data` (see
    profiling.tf_step_profile); op time is also grouped by layer class."""
    scopes = {layer.name: type(layer).__name__ for layer in model.layers}
    scopes |= {model.optimizer.name: "optimizer", "compile_loss": "loss"}
    # One more step than analysed: the epoch's first step waits for the pipeline to fill.
    subset = data.take(steps + 1)
    with tempfile.TemporaryDirectory() as logdir:
        xplane = profiling.trace_tf(lambda: model.fit(subset, epochs=1, verbose=0), logdir)
        profile = profiling.tf_step_profile(xplane, scopes=scopes)
    return {"profiler": f"TensorFlow profiler, {profile['steps']} steps of model.fit", **profile}


BOUND_SHARE = 0.2  # a step waiting or idle this much of its time is bound by that


def training_bound_by(profile: dict) -> str:
    """Input pipeline or framework overhead when the trace says so, else the op kernels."""
    waiting, idle = profile["input_wait_share"], profile["overhead_share"]
    if waiting >= BOUND_SHARE:
        return f"input pipeline: steps wait for their batch {waiting:.0%} of the time"
    if idle >= BOUND_SHARE:
        return f"framework overhead: no op runs during {idle:.0%} of the step time"
    layers = profile.get("by_layer", [])
    by_layer = f"; by layer {_shares(layers)}" if layers else ""
    return (
        f"op kernels: {_shares(profile['top'])} of op time "
        f"(convolutions and matmuls {profile['flop_kernel_share']:.0%}){by_layer}; "
        f"steps wait for input {waiting:.1%} and run no op {idle:.1%} of the time"
    )


# --- inference ---


def bench_inference() -> dict:
    """The web view through model.predict's path (devtools.measure.measure_inference), and
    a cProfile of it saying where a batch's time goes."""
    import tempfile

    from devtools.measure import _has_web_view, measure_inference, web_pictures, web_stand_in
    from model.errors import ModelError
    from model.serve import default_model_dir

    try:
        figures = measure_inference(default_model_dir())
        pictures = web_pictures(count=64)
        if not pictures:
            return figures
        with tempfile.TemporaryDirectory() as temp:
            folder = default_model_dir()
            if not _has_web_view(folder):
                folder = web_stand_in(folder, Path(temp) / "published")
            profile = profile_serving(folder, pictures)
    except ModelError as e:
        raise Skipped(str(e)) from None
    return {**figures, "bound_by": serving_bound_by(profile), "profile": profile}


MODEL_CALL = "model call (tf.function: backbone + head)"
# Where model.predict's classify spends a batch's time, by the functions that spend it
# (none calls another).
SERVING_PARTS = {
    MODEL_CALL: ("model/serve_keras.py", "logits"),
    "decode (decode_image)": ("dataset/imaging.py", "decode_image"),
    "resize to the view's size (resize_image)": ("dataset/imaging.py", "resize_image"),
    "provenance (read_provenance)": ("dataset/provenance.py", "read_provenance"),
    "read the file (read_bytes)": ("model/predict.py", "read_bytes"),
}
TRACE = ("polymorphic_function/tracing_compilation.py", "_create_concrete_function")


def profile_serving(model_dir: Path, pictures: list[str], batch: int = 32) -> dict:
    """cProfile of model.predict's classify over `pictures` in batches of `batch`, as
    measure_inference runs it (model call, decoding, reading, provenance)."""
    from model.predict import classify
    from model.serve import Predictor

    predictor = Predictor.load(model_dir)
    found = [(path, None) for path in pictures]

    def run():
        rows = list(classify(predictor, found, batch))
        assert not any(row.error for row in rows)

    run()  # the files in the page cache, the decoders loaded
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    stats = profiling.cprofile(run)
    parts = {name: profiling.cumulative(stats, fn) for name, fn in SERVING_PARTS.items()}
    return {
        "profiler": f"cProfile, classify over {len(pictures)} web pictures, batches of {batch}",
        "ms_per_picture": round(1000 * seconds / len(pictures), 1),
        "ms_per_picture_profiled": round(1000 * stats.total_tt / len(pictures), 1),
        "top": profiling.split(stats.total_tt, parts),
        "functions_traced": profiling.calls(stats, TRACE),
        "top_self": profiling.top_self(stats, 3),
    }


def serving_bound_by(profile: dict) -> str:
    traced = profile["functions_traced"]
    again = "no function traced again" if not traced else f"{traced} functions traced again"
    return f"{_shares(profile['top'])} of classify's time; {again}"


def _shares(rows: list[dict], n: int = 3) -> str:
    """'a 40%, b 30%, c 10%': the first n rows of a profile list."""
    return ", ".join(f"{row['name']} {row['share']:.0%}" for row in rows[:n])


# --- the app ---


def bench_app(repeats: int = 3) -> dict:
    """Seconds from an upload to the first verdict on a fresh server, heat maps off and
    on, uploading at once or once the model is ready (devtools/app_bench.py)."""
    from devtools.app_bench import bench_app as measure

    return measure(repeats)


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

ALIASES = {"web": "inference"}  # --only web: the web view's serving figures


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
    first, again = fill_ms_per_mib()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "fill_new_memory_ms_per_mib": round(first, 2),
        "fill_just_freed_memory_ms_per_mib": round(again, 2),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "platform": platform.platform(),
    }


def fill_ms_per_mib(mib: int = 512) -> tuple[float, float]:
    """Milliseconds to fill a MiB of newly allocated memory, then of memory just freed.

    On a VM whose balloon device reports free pages to the host, memory freed a few
    seconds ago is handed back and faults in again when touched. Every stage that
    writes new data (page cache included) pays the first figure, not the second.
    """
    times = []
    for _ in range(2):
        start = time.perf_counter()
        block = np.ones(mib << 20, np.uint8)
        times.append((time.perf_counter() - start) * 1000 / mib)
        del block
    return times[0], times[1]


def markdown(report: dict) -> str:
    lines = [
        f"# Benchmarks {report['date']}",
        "",
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, "
        f"{report['machine']['memory_gib']} GiB, TensorFlow {report['machine']['tensorflow']}.",
        f"Filling new memory: {report['machine']['fill_new_memory_ms_per_mib']} ms/MiB; "
        f"memory just freed: {report['machine']['fill_just_freed_memory_ms_per_mib']} ms/MiB.",
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
    return "\n".join(lines + _bounds_section(report["parts"])) + "\n"


def _bounds_section(parts: dict) -> list[str]:
    """Each profiled part's bound_by and its evidence: the profile's top entries."""
    profiled = {part: f for part, f in parts.items() if "bound_by" in f and "profile" in f}
    if not profiled:
        return []
    lines = ["", "## What bounds each part", ""]
    for part, figures in profiled.items():
        profile = figures["profile"]
        lines.append(f"- **{part}**: {figures['bound_by']}.")
        lines.append(f"  Evidence ({profile['profiler']}):")
        for row in profile["top"][:3]:
            lines.append(f"  - {row['name']}: {row['share']:.1%} ({row['seconds']} s)")
    return lines


def _flatten(figures: dict, prefix: str = ""):
    for key, value in figures.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        elif not isinstance(value, list):  # profile lists: in "What bounds each part"
            yield f"{prefix}{key}", value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench", description=__doc__)
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts")
    args = parser.parse_args(argv)
    chosen = [ALIASES.get(p.strip(), p.strip()) for p in args.only.split(",") if p.strip()]
    chosen = list(dict.fromkeys(chosen))
    unknown = sorted(set(chosen) - set(PARTS))
    if unknown:
        known = ", ".join([*PARTS, *(f"{a} (= {p})" for a, p in ALIASES.items())])
        parser.error(f"unknown part {unknown[0]!r} (known: {known})")
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    report = {
        "date": date,
        "command": "make bench"
        if set(chosen) == set(PARTS)
        else f"python -m devtools.bench --only {','.join(chosen)}",
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
