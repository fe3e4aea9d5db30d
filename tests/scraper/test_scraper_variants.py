"""Issue 18 in real headless Chromium, against the stand-in's page variants
(devtools/standin.py VARIANTS): where full-size URLs come from, selector fallbacks,
consent pages in other languages, a scrolling container, a captcha, thumbnails,
politeness, and the keyword groups of the offline pool.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from dataset.scraped import read_manifest
from scraper import browser as browser_module
from scraper import preview
from scraper.collect import collect
from tests.helpers import LOCAL, ROOT, assert_folder_matches_manifest, scrape


@pytest.fixture(scope="module")
def driver(chromium_available):
    d = browser_module.start_browser(page_timeout_s=20)
    yield d
    d.quit()


@pytest.fixture
def fresh(driver):
    """The browser as a new visitor: the consent page comes first."""
    driver.delete_all_cookies()
    return driver


def test_script_data_gives_every_url_without_a_click(fresh, standin, tmp_path):
    lines: list[str] = []
    report = scrape(fresh, standin, "animals", tmp_path, limit=45, variant="scriptonly",
                    log=lines.append)  # fmt: skip
    records = assert_folder_matches_manifest(tmp_path)
    assert report.error is None and len(records) == 45  # more than one page: scrolled
    assert {r["url_source"] for r in records} == {"script"}
    assert all(r["page_url"].startswith(f"{standin}/page/real/") for r in records)
    for r in records:  # the size the script data listed is the picture's (EXIF may turn it)
        assert {r["listed_width"], r["listed_height"]} == {r["width"], r["height"]}
    assert report.search.sources["preview"] == 0 and not [x for x in lines if "warning" in x]


def test_without_script_data_the_preview_panel_gives_the_urls(fresh, standin, tmp_path):
    report = scrape(fresh, standin, "animals", tmp_path, limit=25, variant="clickonly")
    records = assert_folder_matches_manifest(tmp_path)
    assert report.error is None and len(records) == 25
    assert {r["url_source"] for r in records} == {"preview"}
    assert {r["listed_width"] for r in records} == {None}  # no script data: no listed size
    assert all(r["image_url"].startswith(f"{standin}/images/real/") for r in records)
    # The source page comes from the tile's data-lpage when there is no script data.
    assert all(r["page_url"].startswith(f"{standin}/page/real/") for r in records)


def test_renamed_classes_fall_back_to_structure_with_one_warning_each(fresh, standin, tmp_path):
    lines: list[str] = []
    report = scrape(fresh, standin, "animals", tmp_path, limit=30, variant="renamed",
                    log=lines.append)  # fmt: skip
    records = assert_folder_matches_manifest(tmp_path)
    assert report.error is None and len(records) == 30
    assert {r["url_source"] for r in records} == {"script", "preview"}
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert len(warnings) == len(set(warnings)) == 3  # tile, tile picture, preview picture
    assert any("'[data-docid]' did" in w for w in warnings)
    assert any("[data-lhcontainer]" in w for w in warnings)
    assert all("scraper/selectors.py" in w and "\n" not in w for w in warnings)


@pytest.mark.parametrize(
    ("variant", "button", "found_by"),
    [("pl", "odrzuć wszystko", "form"), ("de", "alle ablehnen", "text")],
)
def test_consent_page_in_another_language(fresh, standin, tmp_path, variant, button, found_by):
    # Polish: Google's forms (accept listed first; the reject form is chosen by its
    # set_eom field). German: script buttons without a form, found by their words.
    report = scrape(fresh, standin, "animals", tmp_path, limit=5, variant=variant)
    assert report.error is None and report.kept == 5
    assert (report.search.consent, report.search.consent_found_by) == (button, found_by)
    assert "CONSENT=NO+" in "; ".join(f"{c['name']}={c['value']}" for c in fresh.get_cookies())


def test_results_in_a_scrolling_container_are_scrolled(fresh, standin, tmp_path):
    report = scrape(fresh, standin, "animals", tmp_path, limit=45, variant="scroller")
    assert report.error is None and report.kept == 45
    assert report.search.scroll_rounds >= 1 and report.search.thumbnails > 40


def test_captcha_on_the_first_search_exits_non_zero_in_one_line(standin, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "scraper", "animals", "--label", "real", "--limit", "5",
         "--out", str(tmp_path / "out"), "--search-url", f"{standin}/v/captcha/search",
         "--allow-host", "127.0.0.1", "--query-pause", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "unusual traffic" in done.stderr
    assert read_manifest(tmp_path / "out") == []


@pytest.fixture
def quick_preview(monkeypatch):
    monkeypatch.setattr(preview, "PREVIEW_WAIT_S", 0.3)  # the panel never opens here


def test_thumbnails_are_skipped_and_a_run_that_keeps_nothing_fails(
    fresh, standin, tmp_path, quick_preview
):
    lines: list[str] = []
    report = scrape(fresh, standin, "animals", tmp_path, limit=5, variant="thumbnails",
                    max_scroll_rounds=0, log=lines.append)  # fmt: skip
    assert report.kept == 0 and report.failures == {"thumbnail only": 20}
    assert report.error.startswith("kept no pictures for 'animals' (skipped: thumbnail only x20")
    assert len([x for x in lines if "scrape.allow_thumbnails is false" in x]) == 20


def test_a_run_of_mostly_thumbnails_fails_but_keeps_them(fresh, standin, tmp_path, quick_preview):
    report = scrape(fresh, standin, "animals", tmp_path, limit=5, variant="thumbnails",
                    max_scroll_rounds=0, allow_thumbnails=True)  # fmt: skip
    records = assert_folder_matches_manifest(tmp_path)
    assert len(records) == report.kept == 5 and {r["url_source"] for r in records} == {"thumbnail"}
    assert report.error.startswith("5 of the 5 pictures kept are thumbnails")


def test_clicks_are_paused_with_jitter(fresh, standin, tmp_path):
    report = scrape(fresh, standin, "animals", tmp_path, limit=12, variant="clickonly",
                    click_pause_s=0.05)  # fmt: skip
    assert report.kept == 12 and report.search.sources["preview"] >= 12
    clicks = report.search.sources["preview"]
    assert clicks * 0.025 <= report.seconds["pauses"] <= clicks * 0.075


def test_downloads_use_the_browsers_user_agent_without_headless(driver):
    agent = browser_module.user_agent(driver)
    assert agent and "Chrome/" in agent and "Headless" not in agent


def test_a_persistent_profile_keeps_the_consent(chromium_available, standin, tmp_path):
    profile = tmp_path / "profile"
    consents = []
    for n in range(2):
        d = browser_module.start_browser(profile_dir=profile)
        try:
            report = scrape(d, standin, "animals", tmp_path / f"out{n}", limit=3)
        finally:
            d.quit()
        consents.append(report.search.consent)
        assert report.kept == 3
    assert consents == ["reject all", None] and profile.is_dir()


def test_a_whole_keyword_group_is_scraped_to_its_end(webscrape_dir, standin, tmp_path):
    """The offline pool's realoraigame group of ai pictures, scrolled until the stand-in has
    no more: every picture kept is of the group, and the run ends without an error."""
    ai = (webscrape_dir / "ai").iterdir()
    group = sorted(p.name for p in ai if p.name.startswith("realoraigame-"))
    report = collect(
        "realoraigame ai generated", "ai", tmp_path, limit=600, workers=4,
        search_url=f"{standin}/search", allow_hosts=LOCAL, host_delay_s=0.0,
        max_scroll_rounds=100, log=lambda _line: None,
    )  # fmt: skip
    records = assert_folder_matches_manifest(tmp_path)
    assert report.error is None and "no more results" in report.search.notes
    assert report.search.thumbnails == len(group)
    assert all(re.search(r"/images/ai/realoraigame-", r["image_url"]) for r in records)
    assert len(records) + sum(report.failures.values()) == len(group)
