"""Figures for `make bench` (pipeline/bench.py): the data path's speed on real CIFAKE.

- measure_preprocess(zip): the straightforward loop (cv2.imread + cv2.resize per
  extracted file into a Python list) on a sample, against (a) `load_image` on all
  pictures from the archive on every core and (b) the preprocess stage itself (which
  resizes merge's decoded pixels); images per second and the speed-ups.
- measure_data_path(zip): the cifake, merge and preprocess stages run one after the
  other in a temporary folder, seconds each and in total, with the peak memory.

    python -m dataset.bench [path/to/cifake.zip]
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np

from dataset import cifake, merge, preprocess
from dataset.decode import load_all, workers

SIZE = 36


def baseline_cv2(zip_path: Path | str, sample: int = 3000) -> dict:
    """cv2.imread then cv2.resize per file into a list, on `sample` extracted files."""
    with zipfile.ZipFile(zip_path) as archive, tempfile.TemporaryDirectory() as folder:
        names = [n for n in archive.namelist() if cifake.split_and_label(n)]
        step = max(1, len(names) // sample)
        files = []
        for k, name in enumerate(names[::step][:sample]):
            path = Path(folder) / f"{k}.jpg"
            path.write_bytes(archive.read(name))
            files.append(str(path))
        start = time.perf_counter()
        images = [
            cv2.resize(cv2.imread(f), (SIZE, SIZE), interpolation=cv2.INTER_CUBIC) for f in files
        ]
        seconds = time.perf_counter() - start
    assert len(images) == len(files)
    return {
        "images": len(files),
        "seconds": round(seconds, 3),
        "images_per_s": round(len(files) / seconds),
    }


def measure_preprocess(zip_path: Path | str, sample: int = 3000) -> dict:
    zip_path = Path(zip_path)
    base = baseline_cv2(zip_path, sample)
    with zipfile.ZipFile(zip_path) as archive:
        infos = [(n, archive.getinfo(n)) for n in archive.namelist() if cifake.split_and_label(n)]
    items = [(-1, str(zip_path), name, "", 0, 0) for name, _ in infos]
    start = time.perf_counter()
    pixels, reasons = load_all(items, SIZE)
    decode_s = time.perf_counter() - start
    assert pixels.shape == (len(items), SIZE, SIZE, 3) and not any(reasons)
    del pixels
    with tempfile.TemporaryDirectory() as folder:
        stages = _run_stages(zip_path, Path(folder))
    n = stages["pictures"]
    stage_rate = n / stages["preprocess_s"]
    decode_rate = len(items) / decode_s
    return {
        "workers": workers(),
        "baseline_cv2_loop": base,
        "load_image_all": {
            "images": len(items),
            "seconds": round(decode_s, 2),
            "images_per_s": round(decode_rate),
            "speedup_vs_baseline": round(decode_rate / base["images_per_s"], 1),
        },
        "preprocess_stage": {
            "images": n,
            "seconds": round(stages["preprocess_s"], 2),
            "images_per_s": round(stage_rate),
            "speedup_vs_baseline": round(stage_rate / base["images_per_s"], 1),
        },
    }


def measure_data_path(zip_path: Path | str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        result = _run_stages(Path(zip_path), Path(folder))
    result = {k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}
    result["peak_rss_mb_workers"] = round(
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    )
    result["peak_rss_mb_main"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def _run_stages(zip_path: Path, folder: Path) -> dict:
    """cifake -> merge (no scraped keywords) -> preprocess in `folder`, timed."""
    times = {}
    start = time.perf_counter()
    cifake.prepare(str(zip_path), "", folder / "cifake")
    times["cifake_s"] = time.perf_counter() - start
    start = time.perf_counter()
    merge.merge(
        {},
        4,
        0.2,
        cifake_dir=folder / "cifake",
        scraped_root=folder / "scraped",
        out=folder / "merged",
    )
    times["merge_s"] = time.perf_counter() - start
    start = time.perf_counter()
    report = preprocess.preprocess(
        SIZE,
        0.1,
        "class_weights",
        42,
        merged_dir=folder / "merged",
        out=folder / "prepared",
        report=folder / "dataset.json",
        samples=folder / "samples.png",
    )
    times["preprocess_s"] = time.perf_counter() - start
    times["total_s"] = sum(times.values())
    times["pictures"] = int(sum(report["total"].values()))
    x = np.load(folder / "prepared" / "test.npz")["x"]
    assert x.dtype == np.uint8 and x.shape[1:] == (SIZE, SIZE, 3)
    return times


if __name__ == "__main__":
    archive = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/cifake.zip"
    print(
        json.dumps(
            {"preprocess": measure_preprocess(archive), "data_path": measure_data_path(archive)},
            indent=2,
        )
    )
