"""The real app in a real browser: `streamlit run` as a subprocess, headless Chromium via Selenium.

Issue 17 point by point, as a visitor meets it: verdicts with their kind and figures,
the file's own evidence, heat maps, 'not sure', plain errors, the visitor menu and its
theme choice, examples, the model page's curves, and the first visit's speed.
Screenshots go to test-output/ for a human look.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app import messages
from app.common import THEME_HINT
from devtools.standin import free_port
from tests.helpers import (
    ROOT,
    WEB_SIZE,
    make_image,
    publish_tiny,
    solid,
    tiny_card,
    web_view,
    whole_view,
    with_c2pa,
)

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


SMALL_WEB = {"n": 900, "accuracy": 0.58, "roc_auc": 0.6}  # shrunk web pictures: near chance


def start_streamlit(folder: Path, env_extra: dict):
    """The app as `make app` serves it (`python -m app.serve`: `streamlit run app/main.py`,
    the model loading with the server) on a free port; (process, url)."""
    port = free_port()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env_extra}
    log_path = folder / f"streamlit-{port}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed by stop()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "app.serve",
            "--server.headless", "true", "--server.port", str(port),
            "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    process.log = log
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, process, log_path)
    return process, url


def stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.log.close()


@pytest.fixture(scope="module")
def app_folder(tmp_path_factory) -> Path:
    """The tiny two-view model with two example pictures in published/examples/; shrunk
    web pictures were right 58% of the time with it."""
    import json

    folder = tmp_path_factory.mktemp("browser")
    whole = whole_view(metrics={**whole_view()["metrics"], "small_web": SMALL_WEB})
    card = tiny_card(views={"whole": whole, "web": web_view()})
    model_dir = publish_tiny(folder / "published", card=card)
    examples = model_dir / "examples"
    examples.mkdir()
    Image.new("RGB", (32, 32), (250, 250, 250)).save(examples / "00-real-cifake.png")
    Image.new("RGB", (32, 32), (5, 5, 5)).save(examples / "01-ai-cifake.png")
    listing = [
        {"file": "00-real-cifake.png", "label": "real", "source": "cifake"},
        {"file": "01-ai-cifake.png", "label": "ai", "source": "cifake"},
    ]
    (examples / "examples.json").write_text(json.dumps(listing))
    return folder


@pytest.fixture(scope="module")
def streamlit_app(app_folder):
    """One app server for the module (each browser visit is its own session); its URL."""
    env = {
        "REALORAI_MODEL_DIR": str(app_folder / "published"),
        # the default place, published/examples/, spelled out against a stray setting
        "REALORAI_EXAMPLES_DIR": str(app_folder / "published" / "examples"),
        "REALORAI_REPORTS_DIR": str(ROOT / "reports"),  # the committed dvclive curves
        "REALORAI_ALLOW_HOSTS": "",
    }
    process, url = start_streamlit(app_folder, env)
    try:
        yield url
    finally:
        stop(process)


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


def body(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def click_toggle(driver, label: str) -> None:
    """Click a toggle once it is drawn (the page streams in after its first widgets)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    xpath = f"//label[.//*[contains(text(), '{label}')]]"
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.XPATH, xpath))[0].click()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_verdicts_evidence_and_heat_maps_in_a_real_browser(
    streamlit_app, app_folder, browser, tmp_path, artifacts_dir
):
    """Points 1, 3 and 5 of issue 17 as a visitor sees them."""
    from selenium.webdriver.common.by import By

    web = photo_like(tmp_path / "sky.jpg")  # 640x480: a web picture, judged by the web view
    small = write(tmp_path / "small.png", solid(250, size=(32, 32)))  # CIFAKE-sized
    signed = write(tmp_path / "signed.jpg", with_c2pa(make_image(160, 120)))
    browser.get(streamlit_app)
    uploader = wait_for(browser, "input[type=file]")
    # What the model can and cannot tell, read above the uploader before any upload.
    wait_for_text(browser, "On web pictures from sources it never trained on it is right about")
    info = browser.find_element(By.CSS_SELECTOR, "[data-testid=stAlertContentInfo]")
    assert "71% of the time" in info.text and "93.1% of the time" in info.text, info.text
    box = browser.find_element(By.CSS_SELECTOR, "[data-testid=stFileUploader]")
    assert info.location["y"] < box.location["y"]
    uploader.send_keys(f"{web}\n{small}\n{signed}")
    wait_for_text(browser, "Download CSV")
    wait_for_text(
        browser, f"Judged as a web picture, by an ImageNet network at {WEB_SIZE}×{WEB_SIZE}."
    )
    text = body(browser)
    assert "Judged as a CIFAKE-sized picture, shrunk to 36×36 pixels." in text
    assert "right on 93.1% of 400 test CIFAKE-sized pictures (interval 90.5%–95.2%)" in text
    # The 32 px picture: shrunk web pictures were right 58% of the time, so no firm verdict.
    assert (
        "Too small to judge firmly: web pictures shrunk to this size were judged right only "
        "58% of the time, so this is no verdict; the model leans towards a real photograph"
    ) in text
    assert "if this is a shrunk web picture, the verdict is close to a guess" in text
    assert "p_real is calibrated on CIFAKE-sized pictures" in text
    assert "p_real is calibrated on web pictures" in text
    # Each web verdict quotes how often verdicts this confident were right on held-out sources.
    rows = re.findall(r"were right (\d+)% of the time", text)
    assert len(rows) == 2 and all(0 < int(r) <= 100 for r in rows), rows
    assert (
        "Content Credentials: made with Test Generator 2.1, signed by Realorai Test Lab — valid"
    ) in text
    assert "proves nothing" in text  # the plain pictures carry no metadata
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "h4")]
    assert headings.count(messages.TITLES["too_small"]) == 1, headings  # the small one only
    assert messages.TITLES["real"] in headings, headings
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=stException]")
    time.sleep(0.5)  # let the images finish painting
    browser.save_screenshot(str(artifacts_dir / "app-upload.png"))

    click_toggle(browser, "Heat maps")
    shown = map_stands_out(app_folder / "published", small.read_bytes())
    if shown:  # the small one's map, in words and under its own colour scale
        wait_for_text(browser, "Where the model saw signs of a real photograph")
        wait_for_text(browser, "dark = no sign, bright = strong sign of a real photograph")
    else:
        wait_for_text(browser, messages.NO_REGION_STANDS_OUT)
    wait_for_text(browser, "No heat map for web pictures")  # the two web pictures
    assert body(browser).count("No heat map for web pictures") == 2
    assert "Each square is one patch" not in body(browser)
    time.sleep(0.8)
    images = browser.find_elements(By.CSS_SELECTOR, "[data-testid=stImage] img")
    # the small one's original (its map and legend when the map stands out); each web one
    assert len(images) == (5 if shown else 3)
    browser.set_window_size(1280, 3000)
    time.sleep(1.0)
    browser.save_screenshot(str(artifacts_dir / "app-heatmap.png"))


def test_not_sure_and_plain_errors_in_a_real_browser(
    streamlit_app, browser, tmp_path, artifacts_dir
):
    """Points 2 and 4: 'not sure' wording; one plain sentence per bad file; URLs as text."""
    from selenium.webdriver.common.by import By

    grey = write(tmp_path / "grey.png", solid(128, size=(40, 30)))
    fake = write(tmp_path / "fake.jpg", b"<!DOCTYPE html><html><body>Not an image</body></html>")
    browser.get(streamlit_app)
    wait_for(browser, "input[type=file]").send_keys(f"{grey}\n{fake}")
    wait_for_text(browser, "Download CSV")
    wait_for_text(browser, "The model is not sure: p_real")
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "h4")]
    assert headings == [messages.TITLES["uncertain"]], headings
    alerts = browser.find_elements(By.CSS_SELECTOR, "[data-testid=stAlertContentError]")
    assert [a.text for a in alerts] == [
        "fake.jpg: This file is a saved web page, not a picture; upload the picture file itself."
    ]

    refused = "file:///etc/passwd"
    url_box = browser.find_element(By.CSS_SELECTOR, "input[aria-label='…or an image URL']")
    url_box.send_keys(refused)
    browser.find_element(By.XPATH, "//button[.//*[text()='Check URL']]").click()
    wait_for_text(browser, "this address is refused")
    alert = next(
        a for a in browser.find_elements(By.CSS_SELECTOR, "[data-testid=stAlertContentError]")
        if "refused" in a.text
    )  # fmt: skip
    assert not alert.find_elements(By.TAG_NAME, "a"), "a refused URL must not be a link"
    assert alert.find_element(By.TAG_NAME, "code").text == refused

    # A loopback address starts with http://: the sentence names what is wrong with it.
    from selenium.webdriver.common.keys import Keys

    url_box = browser.find_element(By.CSS_SELECTOR, "input[aria-label='…or an image URL']")
    url_box.send_keys(Keys.CONTROL, "a")
    url_box.send_keys("http://127.0.0.1:8599/")
    browser.find_element(By.XPATH, "//button[.//*[text()='Check URL']]").click()
    wait_for_text(browser, "That is a local or private address")
    assert "this address is refused" not in body(browser)
    browser.set_window_size(1280, 2000)
    time.sleep(1.0)
    browser.save_screenshot(str(artifacts_dir / "app-batch.png"))


def test_a_narrow_screen_reads_verdict_picture_details(
    streamlit_app, browser, tmp_path, artifacts_dir
):
    """Issue 27 item 8, at 400 px wide (a phone): what the model can tell is on the page
    itself (the sidebar is folded away), and each card reads verdict first, then the
    picture, then the details, from the top down."""
    from selenium.webdriver.common.by import By

    web = photo_like(tmp_path / "sky.jpg")
    browser.set_window_size(400, 857)
    browser.get(streamlit_app)
    uploader = wait_for(browser, "input[type=file]")
    click_toggle(browser, "Heat maps")  # the verdict still leads, the map's place after it
    uploader.send_keys(str(web))
    wait_for_text(browser, "Judged as a web picture")
    time.sleep(0.8)
    info = browser.find_element(By.CSS_SELECTOR, "[data-testid=stAlertContentInfo]")
    assert info.is_displayed() and "right about 71% of the time" in info.text
    verdict = browser.find_element(By.CSS_SELECTOR, "h4")
    picture = browser.find_element(By.CSS_SELECTOR, "[data-testid=stImage] img")
    details = browser.find_element(By.XPATH, "//*[contains(text(), 'What the file says')]")
    tops = [e.location["y"] for e in (verdict, picture, details)]
    assert tops == sorted(tops) and len(set(tops)) == 3, tops
    verdict_bottom = verdict.location["y"] + verdict.size["height"]
    assert verdict_bottom <= picture.location["y"]  # stacked, not side by side
    browser.save_screenshot(str(artifacts_dir / "app-narrow.png"))


def test_visitor_menu_and_theme_in_a_real_browser(streamlit_app, browser, artifacts_dir):
    """Point 6: no developer options in the ⋮ menu, and the theme choice where the hint
    says it is (Streamlit 1.67: System / Light / Dark at the top of the menu)."""
    from selenium.webdriver.common.by import By

    browser.get(streamlit_app)
    wait_for(browser, "input[type=file]")
    wait_for_text(browser, THEME_HINT)
    wait_for(browser, "[data-testid=stMainMenu] button").click()
    menu = wait_for(browser, "[data-testid=stMainMenuPopover], [data-testid=stMainMenuList]")
    time.sleep(0.5)
    items = body(browser)
    for developer_option in ("Rerun", "Clear cache", "Deploy", "Developer options"):
        assert developer_option not in items, developer_option
    for choice in ("System", "Light", "Dark"):
        assert choice in items, choice
    browser.save_screenshot(str(artifacts_dir / "app-menu.png"))
    browser.find_element(By.XPATH, "//*[text()='Dark']").click()
    time.sleep(1.0)
    colour = browser.execute_script(
        "return getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor"
    )
    red, green, blue = (int(v) for v in colour[colour.index("(") + 1 : -1].split(",")[:3])
    assert red + green + blue < 200, colour  # a dark background
    assert menu is not None


def test_examples_and_model_page_in_a_real_browser(streamlit_app, browser, artifacts_dir):
    """Points 7 and 8: the examples from published/examples/, training curves."""
    from selenium.webdriver.common.by import By

    browser.get(streamlit_app)
    wait_for(browser, "input[type=file]")
    click_toggle(browser, "Add the 2 example pictures")
    wait_for_text(browser, "True label: real.")
    wait_for_text(browser, "True label: ai.")

    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
    )
    browser.get(f"{streamlit_app}/model")
    wait_for_text(browser, "Web pictures: web pictures")
    wait_for_text(browser, "Per group held out of training")
    wait_for_text(browser, "Training curves")
    wait_for_text(browser, "Small pictures (the whole view)")
    assert "train_web" not in body(browser)
    wait_for_text(browser, "real · cifake → p_real")
    time.sleep(1.5)  # Vega draws after the page arrives
    charts = browser.find_elements(By.CSS_SELECTOR, "[data-testid=stVegaLiteChart]")
    assert len(charts) >= 7  # confusion, ROC, reliability; data; 3 training curves
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=stException]")
    browser.set_window_size(1280, 4000)  # the whole page in one picture
    time.sleep(1.0)
    browser.save_screenshot(str(artifacts_dir / "app-model-page-dark.png"))


def test_a_fresh_server_s_first_upload_gets_its_verdict_then_its_heat_map(
    app_folder, browser, tmp_path
):
    """Issue 27: on a fresh server (`python -m app.serve`: the model loads with the
    server), heat maps switched on, the first upload's verdicts come without waiting for
    the maps, which fill in after. Timings are printed, not asserted (a shared machine
    stretches them): devtools/app_bench.py measures them on the published model."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    web = photo_like(tmp_path / "first.jpg")
    small = write(tmp_path / "small.png", solid(250, size=(32, 32)))
    start = time.perf_counter()
    env = {"REALORAI_MODEL_DIR": str(app_folder / "published")}
    process, url = start_streamlit(tmp_path, env)
    try:
        browser.get(url)
        uploader = wait_for(browser, "input[type=file]")
        usable = time.perf_counter() - start
        click_toggle(browser, "Heat maps")
        sent = time.perf_counter()
        uploader.send_keys(f"{web}\n{small}")
        WebDriverWait(browser, 60, poll_frequency=0.05).until(
            lambda d: body(d).count("p_real = ") == 2
        )
        verdict = time.perf_counter()
        shown = map_stands_out(env["REALORAI_MODEL_DIR"], small.read_bytes())
        # the small one's map (or the words saying it points at nothing), after
        wait_for_text(browser, "Where the model saw signs of" if shown
                      else messages.NO_REGION_STANDS_OUT)  # fmt: skip
    finally:
        stop(process)
    print(f"launch -> usable {usable:.1f} s, upload -> verdicts {verdict - sent:.2f} s")
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "h4")]
    assert len(headings) == 2 and messages.TITLES["too_small"] in headings, headings
    assert messages.HEAT_MAP_COMING not in body(browser)  # every map in its place


def map_stands_out(model_dir, data: bytes) -> bool:
    """Whether the app will draw this small picture's Grad-CAM map (app/heatmap.py) or say
    that no region stands out: the same computation, outside the browser."""
    from app.heatmap import stands_out
    from model.serve import Predictor

    predictor = Predictor.load(model_dir, warm_up=False)
    return stands_out(predictor.gradcam(predictor.predict_bytes(data).pixels))


def sparse_file(path: Path, size: int) -> Path:
    """A PNG's first bytes padded to `size` (sparse on disk: nothing is written)."""
    with open(path, "wb") as f:
        f.write(solid(250))
        f.truncate(size)
    return path


def test_every_file_listed_is_counted_or_has_its_own_sentence(streamlit_app, browser, tmp_path):
    """Issue 27: the count of pictures matches the files listed. A file over the 20 MB
    limit reaches the app (the uploader's cap is 100 MB), is counted and refused in one
    sentence; one over the cap is refused by the browser (a red chip, its reason on hover
    only) and gets its sentence under the uploader from app/refused_uploads.py."""
    from selenium.webdriver.common.by import By

    over = sparse_file(tmp_path / "holiday photo.png", 21_000_000)
    huge = sparse_file(tmp_path / "scan.png", 101_000_000)
    web = photo_like(tmp_path / "sky.jpg")
    small = write(tmp_path / "small.png", solid(250, size=(32, 32)))
    browser.get(streamlit_app)
    wait_for(browser, "input[type=file]").send_keys(f"{web}\n{over}\n{small}")
    wait_for_text(browser, "Download CSV")
    wait_for_text(browser, "3 pictures")
    too_large = messages.picture_problem("file too large", max_mb=20)
    wait_for_text(browser, f"holiday photo.png: {too_large}")
    text = body(browser)
    assert "1 could not be checked" in text  # 3 listed, 3 counted
    chips = browser.find_elements(By.CSS_SELECTOR, "[data-testid=stFileChip]")
    assert len(chips) == 3 and not browser.find_elements(By.CSS_SELECTOR, ".realorai-refused")

    wait_for(browser, "input[type=file]").send_keys(str(huge))
    sentence = messages.NOT_UPLOADED_TOO_LARGE.format(cap_mb="100", max_mb="20")
    wait_for_text(browser, f"scan.png: {sentence}")
    refused = browser.find_elements(By.CSS_SELECTOR, ".realorai-refused")
    assert [r.text for r in refused] == [f"scan.png: {sentence}"]
    # Removing the refused file removes its sentence.
    chips = browser.find_elements(By.CSS_SELECTOR, "[data-testid=stFileChip]")
    chip = next(c for c in chips if c.get_attribute("aria-invalid") == "true")
    chip.find_element(By.CSS_SELECTOR, "[data-testid=stFileChipDeleteBtn] button").click()
    time.sleep(1.0)
    assert not browser.find_elements(By.CSS_SELECTOR, ".realorai-refused")
