"""The app server's memory under heavy uploads, and after the browsers close.

    python -m devtools.upload_memory [--sessions 4] [--pictures 10] [--after 60 150]

Starts `streamlit run app/main.py` on a free local port with the published model,
warms it up (one small picture, then the Keras step), and opens SESSIONS headless
Chromium windows at once, each uploading PICTURES noise PNGs of ~19.9 MB. It prints
the server's resident memory (VmRSS) before, once every session shows its table,
and AFTER seconds after the browsers have closed, as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

from devtools.standin import free_port

ROOT = Path(__file__).resolve().parents[1]
SIDE = 2575  # an RGB noise PNG of this side is ~19.9 MB


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def noise_pngs(folder: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        pixels = np.random.default_rng(i).integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)
        path = folder / f"noise-{i}.png"
        Image.fromarray(pixels).save(path, compress_level=1)
        paths.append(path)
    return paths


def start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    log = open(folder / "streamlit.log", "wb")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("streamlit did not start")


def chromium(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1100", f"--user-data-dir={profile}"):  # fmt: skip
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def upload(driver, url: str, paths: list[Path]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    box = WebDriverWait(driver, 120).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "input[type=file]"))
    )
    box.send_keys("\n".join(str(p) for p in paths))


def wait_for_text(driver, text: str, timeout: float = 900) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: text in d.find_element(By.TAG_NAME, "body").text)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.upload_memory")
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--pictures", type=int, default=10)
    parser.add_argument("--after", type=float, nargs="+", default=[60.0, 150.0])
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="upload-memory-"))
    pictures = noise_pngs(folder, args.pictures)
    small = folder / "small.png"
    Image.new("RGB", (32, 32), (250, 250, 250)).save(small)
    process, url = start_server(folder)
    figures: dict = {"picture_bytes": pictures[0].stat().st_size}
    try:
        warm = chromium(folder / "warm")
        upload(warm, url, [small])
        wait_for_text(warm, "p_real =")
        warm.quit()
        time.sleep(30)  # the Keras step loads after the first verdict
        figures["before_mb"] = rss_mb(process.pid)
        drivers = [chromium(folder / f"profile-{i}") for i in range(args.sessions)]
        start = time.monotonic()
        for driver in drivers:
            upload(driver, url, pictures)
        for driver in drivers:
            wait_for_text(driver, f"{args.pictures} pictures")
        figures["seconds_to_all_tables"] = round(time.monotonic() - start, 1)
        figures["with_sessions_mb"] = rss_mb(process.pid)
        for driver in drivers:
            driver.quit()
        closed = time.monotonic()
        for wait in sorted(args.after):
            time.sleep(max(0.0, closed + wait - time.monotonic()))
            figures[f"after_close_{wait:g}s_mb"] = rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    main()
