"""One scrape run: feeder → parser → downloader → storage, for one query.

The shape is icrawler's: the feeder opens and scrolls the results page
(scraper/feeder.py), the parser turns it into candidates (scraper/search.py with
scraper/parser.py and scraper/preview.py), the downloader fetches and checks them
in parallel (scraper/downloader.py) and the storage keeps them
(scraper/storage.py, the folder's format in dataset/scraped.py).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from scraper.downloader import Downloader, Limits, download_all
from scraper.pacing import Pacer
from scraper.search import SearchStats, iter_candidates
from scraper.storage import Storage

MOSTLY = 0.5  # more than this share of a run's new pictures being thumbnails fails it


@dataclass
class Report:
    """What a run did: counts, why pictures were skipped, and where the time went."""

    query: str
    label: str
    out_dir: Path
    limit: int
    kept: int = 0  # files in the folder at the end
    new: int = 0  # saved by this run
    dropped: int = 0  # records removed at start (changed query/label, missing files)
    new_by_source: Counter = field(default_factory=Counter)  # script, preview, thumbnail
    failures: Counter = field(default_factory=Counter)
    seconds: Counter = field(default_factory=Counter)  # browser, network, decode, total
    search: SearchStats = field(default_factory=SearchStats)
    error: str | None = None  # why the run failed (captcha, no results, nothing kept...)

    def summary(self) -> str:
        skipped = ", ".join(f"{k} x{n}" for k, n in self.failures.most_common()) or "none"
        sources = ", ".join(f"{k} {n}" for k, n in self.new_by_source.most_common()) or "none"
        times = ", ".join(f"{k} {self.seconds[k]:.1f}s" for k in ("browser", "network", "decode"))
        return (
            f"{self.kept}/{self.limit} images for '{self.query}' ({self.label}) in {self.out_dir} "
            f"({self.new} new; URLs from {sources}); skipped: {skipped}; {times}; "
            f"total {self.seconds['total']:.1f}s"
        )


@dataclass(frozen=True)
class Options:
    """How to search and be polite; the download limits are downloader.Limits."""

    search_url: str = "https://www.google.com/search"
    webdriver_url: str | None = None
    profile_dir: str | None = None  # a persistent browser profile (cookies, consent kept)
    max_scroll_rounds: int = 30
    page_timeout_s: float = 20.0
    click_pause_s: float = 0.0
    query_pause_s: float = 0.0


def collect(
    query: str,
    label: str,
    out_dir: Path | str,
    *,
    limit: int,
    workers: int = 4,
    driver=None,
    log=print,
    **settings,
) -> Report:
    """Scrape `query` into `out_dir` until it holds `limit` pictures (or results run out).

    `settings` are the fields of Options and Limits (scrape.* of params.yaml).
    Resumes what the folder holds; a changed query or label starts it over. Pass
    `driver` to reuse a browser (tests, benchmarks); otherwise one is started and
    quit. The search stopping early (captcha, no results) does not lose what was
    downloaded: it ends in `report.error` after the downloads finish, as does a
    run that keeps nothing or mostly thumbnails.
    """
    options, limits = _split_settings(settings)
    started = time.perf_counter()
    report = Report(query, label, Path(out_dir), limit)
    storage = Storage(out_dir, query, label, limit)
    report.dropped = storage.dropped
    if report.dropped:
        log(f"dropped {report.dropped} manifest records (another query or label, or missing files)")
    if not storage.full():
        _search_and_download(query, storage, report, options, limits, workers, driver, log)
    report.kept, report.new = storage.count, storage.new
    report.new_by_source = storage.new_by_source
    report.seconds["write"] = storage.seconds_write
    report.error = report.error or _judge(report, limits)
    report.seconds["total"] = time.perf_counter() - started
    return report


def settings_from(scrape) -> dict:
    """collect()'s settings from the scrape section of params.yaml (settings.params.Scrape)."""
    names = {f.name for f in fields(Options)} | {f.name for f in fields(Limits)}
    found = {name: getattr(scrape, name) for name in names if hasattr(scrape, name)}
    found["profile_dir"] = scrape.browser_profile_dir
    found.pop("user_agent", None)  # read from the browser, not a setting
    return found


def _split_settings(settings: dict) -> tuple[Options, Limits]:
    names = {f.name for f in fields(Options)}, {f.name for f in fields(Limits)}
    unknown = set(settings) - names[0] - names[1]
    if unknown:
        raise TypeError(f"collect() got unknown settings: {', '.join(sorted(unknown))}")
    if "allow_hosts" in settings:
        settings = {**settings, "allow_hosts": tuple(settings["allow_hosts"])}
    options = Options(**{k: v for k, v in settings.items() if k in names[0]})
    return options, Limits(**{k: v for k, v in settings.items() if k in names[1]})


def _search_and_download(query, storage, report, options, limits, workers, driver, log):
    pacer = Pacer(options.click_pause_s, options.query_pause_s)
    if driver is not None:  # the caller's browser: the caller quits it
        return _with_driver(query, storage, report, options, limits, workers, driver, log, pacer)
    from scraper.browser import sigterm_interrupts, start_browser

    with sigterm_interrupts():  # a terminated run still quits the browser it started
        browser_started = time.perf_counter()
        driver = start_browser(
            options.webdriver_url, page_timeout_s=options.page_timeout_s,
            profile_dir=options.profile_dir,
        )  # fmt: skip
        report.seconds["browser_start"] += time.perf_counter() - browser_started
        try:
            _with_driver(query, storage, report, options, limits, workers, driver, log, pacer)
        finally:
            driver.quit()


def _with_driver(query, storage, report, options, limits, workers, driver, log, pacer):
    try:
        limits = _with_browser_user_agent(limits, driver)
        candidates = iter_candidates(
            driver, query, search_url=options.search_url,
            max_scroll_rounds=options.max_scroll_rounds, page_timeout_s=options.page_timeout_s,
            stats=report.search, pacer=pacer, log=log,
        )  # fmt: skip
        downloader = Downloader(limits, report.seconds, log)
        download_all(candidates, downloader, storage, report, workers)
    finally:
        report.seconds["pauses"] += pacer.slept_s


def _with_browser_user_agent(limits: Limits, driver) -> Limits:
    """Downloads say they are the browser that found the pictures (servers see one client)."""
    from scraper.browser import user_agent

    agent = user_agent(driver)
    return replace(limits, user_agent=agent) if agent else limits


def _judge(report: Report, limits: Limits) -> str | None:
    """Why a run that ended without a search error still failed, or None."""
    if report.kept == 0:
        skipped = ", ".join(f"{k} x{n}" for k, n in report.failures.most_common(3))
        why = f" (skipped: {skipped})" if skipped else ""
        return f"kept no pictures for '{report.query}'{why}"
    thumbnails = report.new_by_source["thumbnail"]
    if limits.allow_thumbnails and report.new and thumbnails / report.new > MOSTLY:
        return (
            f"{thumbnails} of the {report.new} pictures kept are thumbnails (no full-size URL "
            "found): Google's page may have changed; the pictures are kept, update "
            "scraper/selectors.py or scraper/parser.py"
        )
    return None
