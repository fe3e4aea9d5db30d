"""The real app in a real browser: `streamlit run` as a subprocess, headless Chromium via Selenium.

Upload a picture through the page's file input, wait for the verdict, turn the heat
map on, open the model page; screenshots go to test-output/ for a human look.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app import logic
from devtools.standin import free_port
from tests.helpers import ROOT, publish_tiny

CHROME_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1100",
]


def photo_like(path: Path) -> Path:
    """A bright sky-like gradient with a dark disc: the tiny model calls it real."""
    y, x = np.mgrid[0:480, 0:640]
    sky = np.stack([150 + x / 8, 190 + y / 10, np.full_like(x, 250.0)], axis=-1)
    disc = (x - 420) ** 2 + (y - 300) ** 2 < 90**2
    sky[disc] = (40, 50, 60)
    buffer = io.BytesIO()
    Image.fromarray(sky.clip(0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=92)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
def streamlit_app(tmp_path):
    """`streamlit run app/main.py` on a free port, on the tiny model; its URL."""
    model_dir = publish_tiny(tmp_path / "published")
    port = free_port()
    env = {
        **os.environ,
        "REALORAI_MODEL_DIR": str(model_dir),
        "REALORAI_EXAMPLES_DIR": str(tmp_path / "no-examples"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    log = open(tmp_path / "streamlit.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app/main.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, tmp_path / "streamlit.log")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_healthy(url: str, process, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"streamlit did not start in {timeout} s: {log.read_text()[-2000:]}")


@pytest.fixture
def browser(chromium_available, tmp_path, monkeypatch):
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not go online
    try:
        from scraper.browser import start_browser  # the scraper's own set-up, when present
    except ImportError:
        start_browser = None
    driver = start_browser() if start_browser else local_chromium(tmp_path / "profile")
    driver.set_window_size(1280, 1100)
    try:
        yield driver
    finally:
        driver.quit()


def local_chromium(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in [*CHROME_ARGS, f"--user-data-dir={profile}"]:
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def wait_for_text(driver, text: str, timeout: float = 60) -> None:
    """Until `text` is visible somewhere on the page (Streamlit nests text in spans)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        lambda d: text in d.find_element(By.TAG_NAME, "body").text,
        message=f"{text!r} never appeared",
    )


def wait_for(driver, css: str, timeout: float = 60):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, css)), message=f"no {css}"
    )


def test_upload_in_a_real_browser(streamlit_app, browser, tmp_path, artifacts_dir):
    from selenium.webdriver.common.by import By

    picture = photo_like(tmp_path / "sky.jpg")
    browser.get(streamlit_app)
    file_input = wait_for(browser, "input[type=file]")  # there once the model is loaded
    file_input.send_keys(str(picture))
    wait_for_text(browser, "p_real = ")
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "h4")]
    assert logic.TITLES["real"] in headings, headings
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=stException]")
    time.sleep(0.5)  # let the image finish painting
    browser.save_screenshot(str(artifacts_dir / "app-upload.png"))

    # The heat-map toggle, as a visitor clicks it.
    browser.find_element(By.XPATH, "//label[.//*[contains(text(), 'Grad-CAM heat map')]]").click()
    wait_for_text(browser, "Grad-CAM: evidence for")
    time.sleep(0.5)
    browser.save_screenshot(str(artifacts_dir / "app-heatmap.png"))

    # The model page, in the dark theme: Streamlit follows the system setting by default.
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
    )
    browser.get(f"{streamlit_app}/model")
    wait_for_text(browser, "Confusion matrix")
    wait_for_text(browser, "realorai-tiny")
    time.sleep(1.5)  # Vega draws after the page arrives
    assert browser.find_elements(By.CSS_SELECTOR, "[data-testid=stVegaLiteChart]")
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=stException]")
    browser.set_window_size(1280, 2400)  # the whole page in one picture
    time.sleep(1.0)
    browser.save_screenshot(str(artifacts_dir / "app-model-page-dark.png"))


def test_several_pictures_at_once_in_a_real_browser(
    streamlit_app, browser, tmp_path, artifacts_dir
):
    """Four files in one go, one of them an HTML page named .jpg: a table, a CSV, one error."""
    from selenium.webdriver.common.by import By

    files = [photo_like(tmp_path / "sky.jpg"), tmp_path / "night.png", tmp_path / "grey.webp"]
    Image.new("RGB", (300, 200), (15, 20, 40)).save(files[1])
    Image.new("RGB", (300, 200), (128, 128, 128)).save(files[2])
    fake = tmp_path / "fake.jpg"
    fake.write_bytes(b"<!DOCTYPE html><html><body>Not an image</body></html>")
    files.append(fake)
    browser.get(streamlit_app)
    wait_for(browser, "input[type=file]").send_keys("\n".join(str(f) for f in files))
    wait_for_text(browser, "Download CSV")
    wait_for_text(browser, "fake.jpg: an HTML page, not an image")
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "h4")]
    assert headings == [logic.TITLES[v] for v in ("real", "ai", "uncertain")], headings
    assert len(browser.find_elements(By.CSS_SELECTOR, "[data-testid=stAlertContentError]")) == 1
    browser.set_window_size(1280, 2200)
    time.sleep(1.0)
    browser.save_screenshot(str(artifacts_dir / "app-batch.png"))
