"""The scraper against the local Google Images stand-in, in real headless Chromium.

One stand-in (a subprocess, as `make pipeline-offline` runs it) and one browser
serve the whole module; the pictures are ../shared/data/webscrape when present,
else small generated ones.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from dataset.hashing import NearDuplicateIndex, file_sha256
from dataset.scraped import read_manifest, reconcile
from devtools.standin import free_port, wait_for_port
from scraper import browser as browser_module
from scraper.collect import collect
from scraper.errors import ScrapeError
from tests.helpers import (
    LOCAL,
    ROOT,
    assert_folder_matches_manifest,
    descendants,
    process_running,
    scrape,
)


@pytest.fixture(scope="module")
def pictures(standin_pictures) -> Path:
    return standin_pictures


@pytest.fixture(scope="module")
def driver(chromium_available):
    from scraper.browser import start_browser

    d = start_browser(page_timeout_s=20)
    yield d
    d.quit()


def assert_no_duplicates(records: list[dict]) -> None:
    assert len({r["sha256"] for r in records}) == len(records)
    assert len({r["pixel_sha256"] for r in records}) == len(records)
    index = NearDuplicateIndex(4)
    for r in records:
        assert index.nearest(r["phash"]) is None, f"{r['file']} is a near duplicate"
        index.add(r["phash"], r["file"])


@pytest.fixture(scope="module")
def animals(driver, standin, tmp_path_factory):
    """One run of 30 'animals': more than the first page's 20, so it must scroll."""
    driver.delete_all_cookies()  # a fresh visitor: the consent page comes first
    out = tmp_path_factory.mktemp("animals") / "out"
    return out, scrape(driver, standin, "animals", out, limit=30)


def test_scrape_gets_past_consent_scrolls_and_keeps_full_size_pictures(animals, standin, pictures):
    out, report = animals
    assert report.error is None and report.kept == report.new == 30
    assert report.search.consent == "reject all"
    assert report.search.scroll_rounds >= 1 and report.search.thumbnails > 20
    records = assert_folder_matches_manifest(out)
    assert len(records) == 30
    assert {(r["query"], r["label"], r["status"]) for r in records} == {("animals", "real", "ok")}
    assert_no_duplicates(records)
    originals = {file_sha256(p.read_bytes()): p for p in (pictures / "real").iterdir()}
    for r in records:
        # The full-size URL was used (script data or preview panel), not the thumbnail.
        assert r["image_url"].startswith(f"{standin}/images/real/")
        assert r["sha256"] in originals  # byte for byte the served picture
        # page_url: the page the picture is on; results_url: Google's page it was found on
        assert r["page_url"].startswith(f"{standin}/page/real/")
        assert r["results_url"].startswith(f"{standin}/search?q=animals")
        assert r["width"] > 0 and r["height"] > 0 and r["bytes"] == (out / r["file"]).stat().st_size
        assert r["fetched_at"].endswith("+00:00") and len(r["phash"]) == 16
    # The first page's 20 from its script data, no click; the rest by the preview panel.
    sources = [r["url_source"] for r in records]
    assert sources[:20] == ["script"] * 20 and set(sources[20:]) == {"preview"}
    assert report.search.fallbacks == 0 and report.search.consent_found_by == "form"


def test_rerun_skips_what_it_has_and_extends_to_the_new_limit(animals, driver, standin, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(animals[0], out)
    before = {r["file"] for r in read_manifest(out)}
    report = scrape(driver, standin, "animals", out, limit=36)
    records = assert_folder_matches_manifest(out)
    assert report.kept == 36 and report.new == 6 and before < {r["file"] for r in records}
    assert "duplicate" not in report.failures  # known URLs were skipped, not re-downloaded
    assert_no_duplicates(records)


def test_a_changed_query_replaces_the_old_records(animals, driver, standin, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(animals[0], out)
    report = scrape(driver, standin, "cityscape", out, limit=8)
    records = assert_folder_matches_manifest(out)
    assert report.dropped == 30 and report.kept == 8
    assert {r["query"] for r in records} == {"cityscape"} and len(records) == 8


def test_each_faulty_download_is_one_line_and_the_rest_go_on(driver, standin, tmp_path):
    lines: list[str] = []
    report = scrape(
        driver, standin, "faults", tmp_path / "out", limit=50,
        download_timeout_s=2.0, max_bytes=1_000_000, log=lines.append,
    )  # fmt: skip
    expected = {
        "HTTP 404": "/fault/404.jpg", "HTTP 500": "/fault/500.jpg",
        "timed out": "/fault/slow.jpg", "not an image": "/fault/page.jpg",
        "corrupt or truncated image": "/fault/truncated.jpg",
        "decompression bomb": "/fault/bomb.png", "too large": "/fault/big.jpg",
        "too small": "/fault/tiny.png", "duplicate": "/dup/real/",
        "near duplicate": "/near/real/",
    }  # fmt: skip
    malformed = ("http://[::1/x.jpg", "/redirect?to=http%3A%2F%2F%5B%3A%3A1")  # in a result, a hop
    assert dict(report.failures) == {**dict.fromkeys(expected, 1), "malformed URL": 2}
    for path in malformed:
        assert len([line for line in lines if path in line and "malformed" in line]) == 1
    for path in expected.values():
        mentions = [line for line in lines if path in line]
        assert len(mentions) == 1 and "\n" not in mentions[0]
    assert any("an HTML page" in line and "served as image/jpeg" in line for line in lines)
    records = assert_folder_matches_manifest(tmp_path / "out")
    urls = [r["image_url"] for r in records]
    assert len(records) == report.kept == 3  # two plain pictures and the one behind the 429
    assert any("/fault/429/" in u for u in urls)
    assert [line for line in lines if "waiting 1 s as its Retry-After asks" in line]


def test_no_result_markup_stops_with_one_line(driver, standin, tmp_path):
    report = scrape(driver, standin, "noresults", tmp_path / "out")
    assert report.kept == 0 and "none of the tile selectors matched" in report.error
    assert "\n" not in report.error


def cli(args, tmpdir=None, **kw):
    env = {**os.environ, "SE_OFFLINE": "true", **({"TMPDIR": str(tmpdir)} if tmpdir else {})}
    return subprocess.Popen(
        [sys.executable, "-m", "scraper", *args], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, **kw,
    )  # fmt: skip


def test_unusual_traffic_page_stops_with_one_line_and_keeps_what_it_has(standin, tmp_path):
    out = tmp_path / "out"
    process = cli(["unusual", "--label", "real", "--limit", "50", "--out", str(out),
                   "--search-url", f"{standin}/search", "--allow-host", "127.0.0.1",
                   "--host-delay", "0", "--query-pause", "0"])  # fmt: skip
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    assert stderr.strip().count("\n") == 0 and "unusual traffic" in stderr
    assert stderr.startswith("error: scrape: ")
    records = assert_folder_matches_manifest(out)
    assert 1 <= len(records) <= 20  # the first page's pictures, saved before the block
    assert f"{len(records)}/50 images" in stdout


def test_resume_after_sigkill_mid_run(driver, standin, tmp_path):
    out = tmp_path / "out"
    args = ["animals", "--label", "real", "--limit", "40", "--out", str(out),
            "--search-url", f"{standin}/search", "--allow-host", "127.0.0.1",
            "--host-delay", "0.3", "--workers", "2", "--click-pause", "0",
            "--query-pause", "0"]  # fmt: skip
    # Its own session: the kill reaches the CLI, chromedriver and Chromium at once.
    # TMPDIR: the killed run cannot delete its temporary browser profile, so the test
    # does. A short path: Chromium's socket paths under it must fit 107 bytes.
    tmpdir = Path(tempfile.mkdtemp(prefix="scrape-kill-"))
    process = cli(args, start_new_session=True, tmpdir=tmpdir)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(read_manifest(out)) < 5:
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
        shutil.rmtree(tmpdir, ignore_errors=True)
    killed_with = len(read_manifest(out))
    assert 5 <= killed_with < 40

    kept, _ = reconcile(out, "animals", "real")
    records = assert_folder_matches_manifest(out)
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]
    assert len(records) == len(kept) >= 5

    report = scrape(driver, standin, "animals", out, limit=40)
    records = assert_folder_matches_manifest(out)
    assert report.kept == len(records) == 40
    assert_no_duplicates(records)


def test_scrape_through_a_remote_webdriver(chromium_available, standin, tmp_path):
    port = free_port()
    chromedriver = subprocess.Popen(
        ["/usr/bin/chromedriver", f"--port={port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port)
        report = collect(
            "humans", "real", tmp_path / "out", limit=5, workers=2,
            search_url=f"{standin}/search", webdriver_url=f"http://127.0.0.1:{port}",
            allow_hosts=LOCAL, host_delay_s=0.0,
        )  # fmt: skip
    finally:
        chromedriver.terminate()
        chromedriver.wait(10)
    assert report.error is None and report.kept == 5
    assert report.search.consent == "reject all"
    assert len(assert_folder_matches_manifest(tmp_path / "out")) == 5


def test_unreachable_webdriver_url_is_one_line():
    from scraper.browser import start_browser

    with pytest.raises(ScrapeError, match="scrape.webdriver_url") as caught:
        start_browser(f"http://127.0.0.1:{free_port()}")
    assert "\n" not in str(caught.value)


def test_missing_chromium_says_what_to_install(monkeypatch):
    monkeypatch.setattr(browser_module, "CHROMIUM_CANDIDATES", ("/nonexistent/chromium",))
    with pytest.raises(ScrapeError, match="apt-get install chromium chromium-driver"):
        browser_module.start_browser()


def test_temporary_profile_is_deleted_when_the_browser_quits(chromium_available):
    d = browser_module.start_browser()
    profile = Path(d.profile_dir)
    assert profile.is_dir()
    d.quit()
    assert not profile.exists()


def test_pipeline_stage_scrapes_a_keyword_of_params(chromium_available, standin, tmp_path):
    (tmp_path / "params.yaml").write_text(
        "scrape:\n"
        "  keywords:\n"
        "    pets: {query: animals, label: real, group: pets}\n"
        f"  limit: 4\n  workers: 2\n  search_url: {standin}/search\n"
        "  allow_hosts: [127.0.0.1]\n  host_delay_s: 0.0\n  click_pause_s: 0.0\n"
        "  query_pause_s: 0.0\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SE_OFFLINE": "true"}
    env.pop("PARAMS_OVERLAY", None)

    def stage(name):
        return subprocess.run(
            [sys.executable, "-m", "pipeline.scrape", name],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    done = stage("pets")
    assert done.returncode == 0, done.stderr
    assert "scrape@pets: 4/4 images" in done.stdout
    records = assert_folder_matches_manifest(tmp_path / "data/scraped/pets")
    assert len(records) == 4 and {r["label"] for r in records} == {"real"}

    unknown = stage("nope")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == (
        "error: scrape: unknown keyword 'nope' (scrape.keywords has: pets)"
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")
def test_a_terminated_scrape_quits_its_browser(chromium_available, standin, tmp_path):
    out = tmp_path / "out"
    args = ["animals", "--label", "real", "--limit", "40", "--out", str(out),
            "--search-url", f"{standin}/search", "--allow-host", "127.0.0.1",
            "--host-delay", "0.3", "--workers", "2"]  # fmt: skip
    process = cli(args)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(read_manifest(out)) < 3:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    browser = descendants(process.pid)
    assert browser, "no chromedriver or Chromium under the scraper"
    process.send_signal(signal.SIGTERM)  # what kill, dvc's parent or a CI runner sends
    _, err = process.communicate(timeout=60)
    deadline = time.monotonic() + 15
    while any(map(process_running, browser)) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in browser if process_running(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], "Chromium or chromedriver outlived the terminated scrape"
    assert process.returncode == 130 and err.strip().endswith("interrupted")
    assert_folder_matches_manifest(out)  # what was kept stays whole
