"""Figures for `make bench` (devtools/bench.py): the data path's speed on real CIFAKE.

- measure_data_path(zip): the cifake, merge and preprocess stages run one after the
  other in a temporary folder, in a fresh process (so the peak memory is theirs),
  seconds each and in total.
- measure_preprocess(zip, data_path): the straightforward loop (cv2.imread +
  cv2.resize per extracted file into a Python list) over all pictures, cold and warm
  page cache, against (a) `load_image` on all pictures straight from the archive
  (cold) on every core and (b) the preprocess stage of that data-path run (it
  resizes merge's decoded pixels); images per second and the speed-ups.

    python -m devtools.data_bench [path/to/cifake.zip]
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from dataset import cifake, merge, prepared, preprocess
from dataset.decode import load_all, workers

SIZE = 36


def baseline_cv2(zip_path: Path | str) -> dict:
    """The straightforward loop over every CIFAKE picture, as the original project ran it.

    The archive is extracted into its class folders, then `cv2.imread` and
    `cv2.resize` per file (os.listdir order) into a Python list. Timed cold (the files
    just evicted from the page cache, as on a first run) and warm (a second run).
    """
    with zipfile.ZipFile(zip_path) as archive, tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        archive.extractall(folder, [n for n in archive.namelist() if cifake.split_and_label(n)])
        extract_s = time.perf_counter() - start
        folders = sorted({str(p.parent) for p in Path(folder).rglob("*.jpg")})
        evict_from_page_cache(Path(folder).rglob("*.jpg"))
        cold_n, cold_s = _cv2_loop(folders)
        warm_n, warm_s = _cv2_loop(folders)
    assert cold_n == warm_n
    return {
        "images": cold_n,
        "extract_seconds": round(extract_s, 2),
        "cold_seconds": round(cold_s, 2),
        "cold_images_per_s": round(cold_n / cold_s),
        "warm_seconds": round(warm_s, 2),
        "warm_images_per_s": round(warm_n / warm_s),
    }


def _cv2_loop(folders: list[str]) -> tuple[int, float]:
    start = time.perf_counter()
    images = []
    for folder in folders:
        for name in os.listdir(folder):
            images.append(cv2.resize(cv2.imread(os.path.join(folder, name)), (SIZE, SIZE)))
    return len(images), time.perf_counter() - start


def evict_from_page_cache(files) -> None:
    """Drop these files' cached pages, so the next read comes from the disk.

    posix_fadvise needs no privileges (unlike /proc/sys/vm/drop_caches) and touches
    only these files; dirty pages are not dropped, hence the sync first.
    """
    os.sync()
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def measure_preprocess(zip_path: Path | str, data_path: dict) -> dict:
    """The loop against load_image and against data_path's preprocess stage."""
    zip_path = Path(zip_path)
    base = baseline_cv2(zip_path)
    with zipfile.ZipFile(zip_path) as archive:
        names = [n for n in archive.namelist() if cifake.split_and_label(n)]
    items = [(-1, str(zip_path), name, "", 0, 0) for name in names]
    with tempfile.TemporaryDirectory() as folder:
        # Into an .npy on disk, as the preprocess stage writes (no copy back to this process).
        out = Path(folder) / "pixels.npy"
        np.lib.format.open_memmap(out, "w+", np.uint8, (len(items), SIZE, SIZE, 3)).flush()
        evict_from_page_cache([zip_path])
        start = time.perf_counter()
        _, reasons = load_all(items, SIZE, outputs=[(out, len(items))])
        decode_s = time.perf_counter() - start
        assert not any(reasons) and np.load(out, mmap_mode="r")[-1].any()
    stage = (data_path["pictures"], data_path["preprocess_s"])
    return {
        "workers": workers(),
        "baseline_cv2_loop": base,
        "load_image_all": _against(base, len(items), decode_s),
        "preprocess_stage": _against(base, *stage),
    }


def _against(base: dict, images: int, seconds: float) -> dict:
    rate = images / seconds
    return {
        "images": images,
        "seconds": round(seconds, 2),
        "images_per_s": round(rate),
        "speedup_vs_cold_baseline": round(rate / base["cold_images_per_s"], 1),
        "speedup_vs_warm_baseline": round(rate / base["warm_images_per_s"], 1),
    }


def measure_data_path(zip_path: Path | str) -> dict:
    """The stages in a fresh process, so the peak memory is theirs, not the baseline's."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_data_path_here, str(zip_path)).result()


def _data_path_here(zip_path: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        result = _run_stages(Path(zip_path), Path(folder))
    result = {k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}
    # A forked worker's peak counts the pages it shares with this process and the
    # memory-mapped pixel files it reads and writes: an upper bound on its own memory.
    result["peak_rss_mb_workers"] = round(
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    )
    result["peak_rss_mb_main"] = peak_rss_mb_since_start()
    return result


def peak_rss_mb_since_start() -> int:
    """This process's peak resident memory in MB, counted from its own start (VmHWM).

    Not getrusage's ru_maxrss: Linux keeps in it the peak of the image before exec,
    which for a spawned process is its parent's (the benchmark, TensorFlow loaded).
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


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
    x = np.load(folder / "prepared" / f"test{prepared.X_FILE}", mmap_mode="r")
    assert x.dtype == np.uint8 and x.shape[1:] == (SIZE, SIZE, 3)
    return times


if __name__ == "__main__":
    archive = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/cifake.zip"
    stages = measure_data_path(archive)
    print(
        json.dumps(
            {"preprocess": measure_preprocess(archive, stages), "data_path": stages}, indent=2
        )
    )
