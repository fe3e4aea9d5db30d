"""The app's first verdict, as a visitor meets it: `python -m devtools.bench --only app`.

Each run launches a fresh server the way `make app` does (`python -m app.serve`, on the
published model), opens it in headless Chromium and uploads a 640×480 JPEG (a web
picture: the web view, TensorFlow) the moment the upload box is there. Three visits,
each on its own fresh server:
- `at_once`: heat maps off, upload at once;
- `at_once_heat`: heat maps switched on first, then upload at once (the verdict must
  not wait for the maps);
- `model_ready`, `model_ready_heat`: upload once the sidebar says the model is ready;
- `late_visit`: the first visitor opens the page LATE_S after the server started and
  uploads at once (a served app: nobody visits at its first second);
- `streamlit_run_at_once`, `streamlit_run_late_visit`: the same under plain
  `streamlit run app/main.py`, where the model starts loading at the first visit: the
  comparison, in the same run.
Upload-to-verdict is timed from `send_keys` on the file input to "p_real = " on the
page; figures are medians over `repeats` launches of each. Issue 27 asks for a first
verdict within 1.5 s of the upload.
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 1.5
SERVE = ("-m", "app.serve")  # as `make app` serves it: the model loads with the server
PLAIN = ("-m", "streamlit", "run", "app/main.py")  # the model loads at the first visit
LATE_S = 20.0  # a first visitor arriving this long after the server started
VISITS = {  # name: (heat maps on, when to upload, how the server starts)
    "at_once": (False, "at once", SERVE),
    "at_once_heat": (True, "at once", SERVE),
    "model_ready": (False, "ready", SERVE),
    "model_ready_heat": (True, "ready", SERVE),
    "late_visit": (False, "late", SERVE),
    "streamlit_run_at_once": (False, "at once", PLAIN),  # before app.serve, same run
    "streamlit_run_late_visit": (False, "late", PLAIN),
}


def bench_app(repeats: int = 3) -> dict:
    from devtools.bench import Skipped
    from model.serve import default_model_dir

    if not (default_model_dir() / "model_card.json").is_file():
        raise Skipped(f"no published model in {default_model_dir()}")
    from scraper.browser import start_browser

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        picture = web_picture(Path(folder) / "picture.jpg")
        runs = {name: [visit(start_browser, picture, *how) for _ in range(repeats)]
                for name, how in VISITS.items()}  # fmt: skip
    out = {}
    for name, rows in runs.items():
        for figure in rows[0]:
            out[f"{name}.{figure}"] = round(statistics.median(r[figure] for r in rows), 2)
    return {
        **out,
        "target_upload_to_verdict_seconds": TARGET_S,
        "repeats": repeats,
        # on a shared machine, other jobs' load says how far these figures are inflated
        "load_average_1min": round(max(load_before, os.getloadavg()[0]), 1),
    }


def web_picture(path: Path) -> Path:
    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).resize((640, 480)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


def visit(start_browser, picture: Path, heat: bool, when: str, command: tuple) -> dict:
    """One fresh server, one visitor: seconds from launch to a usable page, from the
    upload to the verdict, from launch to the verdict, and the app's CPU seconds by then.
    The browser is started before the clock: a visitor's is already open."""
    from devtools.standin import free_port, wait_for_port

    port = free_port()
    driver = start_browser()
    start = time.perf_counter()
    app = subprocess.Popen(
        [sys.executable, *command, "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, 60)
        if when == "late":
            time.sleep(max(0.0, LATE_S - (time.perf_counter() - start)))
        driver.get(f"http://127.0.0.1:{port}")
        upload = _until(driver, lambda d: d.find_elements("css selector", "input[type=file]"))[0]
        usable = time.perf_counter() - start
        if heat:
            _until(driver, lambda d: d.find_elements("xpath", HEAT_TOGGLE))[0].click()
        if when == "ready":
            upload = _when_ready(driver)
        sent = time.perf_counter()
        upload.send_keys(str(picture))
        try:
            _until(driver, lambda d: "p_real = " in _text(d))
        except Exception:  # what the page showed instead, for whoever reads the failure
            print(_text(driver)[-1500:], file=sys.stderr)
            raise
        done = time.perf_counter()
        return {
            "seconds_to_usable_page": usable,
            "upload_to_verdict_seconds": done - sent,
            "seconds_to_verdict": done - start,
            "app_cpu_seconds": _cpu_seconds(app.pid),
        }
    finally:
        driver.quit()
        app.terminate()  # the app lets a TensorFlow import under way finish first
        try:
            app.wait(60)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()


HEAT_TOGGLE = "//label[.//*[contains(text(), 'Heat maps')]]"


def _when_ready(driver, timeout: float = 120):
    """The upload box once the sidebar says the model is ready: the status is drawn
    once per page run, so the page is reloaded (a visitor arriving later) until then."""
    deadline = time.perf_counter() + timeout
    while "Model ready" not in _text(driver):
        if time.perf_counter() > deadline:
            raise TimeoutError("the model never got ready")
        time.sleep(1.0)
        driver.refresh()
        _until(driver, lambda d: d.find_elements("css selector", "input[type=file]"))
    return driver.find_elements("css selector", "input[type=file]")[0]


def _until(driver, condition, timeout: float = 120):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)


def _text(driver) -> str:
    return driver.find_element("tag name", "body").text


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":  # a quick look without the report: python -m devtools.app_bench
    import json

    print(json.dumps(bench_app(int(sys.argv[1]) if len(sys.argv) > 1 else 1), indent=1))
