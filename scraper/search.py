"""Google Images in a real browser: results in order, with their full-size URLs.

Selenium drives the page (consent, scrolling, clicking thumbnails, which is what
makes Google put the full-size URL in the preview panel); BeautifulSoup reads
`driver.page_source` to list the thumbnails. Selectors live in scraper/selectors.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode

from bs4 import BeautifulSoup
from selenium.common.exceptions import (
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.common.by import By

from scraper import selectors
from scraper.errors import ScrapeError

PREVIEW_WAIT_S = 3.0  # how long a clicked thumbnail's preview may take to show the full URL
POLL_S = 0.05


@dataclass(frozen=True)
class Candidate:
    """One search result: its full-size URL (or data: URI), its thumbnail, its page."""

    url: str
    thumbnail: str
    page_url: str


@dataclass
class SearchStats:
    """What happened in the browser, for the summary and the tests."""

    consent: str | None = None  # the consent button clicked, if any
    scroll_rounds: int = 0
    thumbnails: int = 0
    previews: int = 0  # candidates whose URL came from the preview panel
    fallbacks: int = 0  # candidates that fell back to the thumbnail src
    selector: str | None = None  # the thumbnail selector that matched
    notes: list[str] = field(default_factory=list)


class SearchBlocked(ScrapeError):
    """Google stopped the search (captcha) or its page has no result we can read."""


def search_url_for(search_url: str, query: str) -> str:
    return f"{search_url}?{urlencode({'q': query, 'udm': 2, 'hl': 'en'})}"


def iter_candidates(
    driver,
    query: str,
    *,
    search_url: str,
    max_scroll_rounds: int = 30,
    page_timeout_s: float = 20,
    stats: SearchStats | None = None,
) -> Iterator[Candidate]:
    """Yield results in page order, deduplicated by URL, scrolling for more as needed.

    The caller stops iterating when it has enough. Raises SearchBlocked (after
    yielding what it found) on the unusual-traffic page or when no selector matches.
    """
    stats = stats if stats is not None else SearchStats()
    url = search_url_for(search_url, query)
    _open(driver, url)
    if _on_consent_page(driver):
        stats.consent = _accept_consent(driver, page_timeout_s)
        if not _on_results_page(driver, url):
            _open(driver, url)
    _raise_if_blocked(driver)

    seen: set[str] = set()
    done = 0  # thumbnails already clicked
    rounds = 0
    while True:
        found = _thumbnail_count(driver, stats)
        if found == 0 and done == 0:
            raise SearchBlocked(
                f"no image results on {driver.current_url[:120]}: none of the thumbnail "
                "selectors matched (Google may have changed its page; update scraper/selectors.py)"
            )
        for index in range(done, found):
            candidate = _open_result(driver, index, stats)
            done = index + 1
            if candidate and candidate.url not in seen:
                seen.add(candidate.url)
                yield candidate
        if rounds >= max_scroll_rounds:
            stats.notes.append(f"stopped after {rounds} scroll rounds (scrape.max_scroll_rounds)")
            return
        rounds += 1
        stats.scroll_rounds = rounds
        if not _scroll_for_more(driver, done, page_timeout_s, stats):
            stats.notes.append("no more results")
            return


def _open(driver, url: str) -> None:
    try:
        driver.get(url)
    except TimeoutException:
        raise ScrapeError(f"the search page did not load in time: {url[:120]}") from None
    except WebDriverException as e:
        raise ScrapeError(f"the browser could not open {url[:120]} ({_first_line(e)})") from None


def _soup(driver) -> BeautifulSoup:
    return BeautifulSoup(driver.page_source, "html.parser")


def _on_consent_page(driver) -> bool:
    if any(marker in driver.current_url for marker in selectors.CONSENT_URL_MARKERS):
        return True
    return _consent_button(driver) is not None


def _consent_button(driver):
    """The first consent button by preference (reject before accept), or None."""
    buttons = []
    for tag in selectors.CONSENT_BUTTON_TAGS:
        for element in driver.find_elements(By.CSS_SELECTOR, tag):
            try:
                text = (element.text or element.get_attribute("value") or "").strip().lower()
            except StaleElementReferenceException:  # the page moved on under us
                continue
            if text in selectors.CONSENT_BUTTON_TEXTS:
                buttons.append((selectors.CONSENT_BUTTON_TEXTS.index(text), element, text))
    return min(buttons, key=lambda b: b[0])[1:] if buttons else None


def _accept_consent(driver, timeout_s: float) -> str:
    found = _consent_button(driver)
    if found is None:
        raise SearchBlocked(
            f"stuck on Google's consent page ({driver.current_url[:100]}): no known button "
            "(update CONSENT_BUTTON_TEXTS in scraper/selectors.py)"
        )
    element, text = found
    before = driver.current_url
    element.click()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # the click posts a form and redirects
        if driver.current_url != before or _consent_button(driver) is None:
            break
        time.sleep(POLL_S)
    return text


def _on_results_page(driver, url: str) -> bool:
    return driver.current_url.split("#")[0] == url or "udm=2" in driver.current_url


def _raise_if_blocked(driver) -> None:
    if why := blocked_reason(driver.current_url, driver.page_source):
        raise SearchBlocked(why)


def blocked_reason(url: str, page: str) -> str | None:
    """One line if this page is Google's unusual-traffic (captcha) page, else None."""
    text = page.lower()
    hit = any(m in url for m in selectors.BLOCKED_URL_MARKERS) or any(
        t in text for t in selectors.BLOCKED_TEXTS
    )
    if not hit:
        soup = BeautifulSoup(page, "html.parser")
        hit = any(soup.select_one(s) for s in selectors.BLOCKED_SELECTORS)
    if not hit:
        return None
    return (
        "Google showed its 'unusual traffic' captcha page and stopped the search; "
        "try again later, from another network, or through scrape.webdriver_url"
    )


def _thumbnail_count(driver, stats: SearchStats) -> int:
    """How many result thumbnails the page holds now (first selector that matches)."""
    soup = _soup(driver)
    for selector in selectors.THUMBNAILS:
        count = len(soup.select(selector))
        if count:
            stats.selector = selector
            stats.thumbnails = count
            return count
    _raise_if_blocked(driver)
    return 0


def _open_result(driver, index: int, stats: SearchStats) -> Candidate | None:
    """Click thumbnail `index` and read the full-size URL from the preview panel."""
    for _attempt in range(2):  # the page may re-render a result between find and read
        elements = driver.find_elements(By.CSS_SELECTOR, stats.selector)
        if index >= len(elements):
            return None
        thumb = elements[index]
        try:
            thumbnail = thumb.get_attribute("src") or thumb.get_attribute("data-src") or ""
            break
        except StaleElementReferenceException:
            continue
    else:
        return None
    before = _preview_src(driver)
    try:
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", thumb)
        thumb.click()
    except WebDriverException:
        try:  # covered by an overlay: a script click still opens the preview
            driver.execute_script("arguments[0].click();", thumb)
        except WebDriverException:
            return _fallback(thumbnail, driver, stats)
    deadline = time.monotonic() + PREVIEW_WAIT_S
    while time.monotonic() < deadline:
        src = _preview_src(driver)
        # While the full picture loads, the panel shows the thumbnail: not what we want.
        loading = src == thumbnail or (src or "").startswith(selectors.THUMBNAIL_URL_PREFIXES)
        if src and src != before and not loading:
            stats.previews += 1
            return Candidate(src, thumbnail, driver.current_url)
        time.sleep(POLL_S)
    return _fallback(thumbnail, driver, stats)


def _fallback(thumbnail: str, driver, stats: SearchStats) -> Candidate | None:
    if not thumbnail:
        return None
    stats.fallbacks += 1
    return Candidate(thumbnail, thumbnail, driver.current_url)


def _preview_src(driver) -> str | None:
    """The src of the (visible) preview image, read in one script call (fast)."""
    script = """
    for (const sel of arguments[0]) {
      for (const img of document.querySelectorAll(sel)) {
        // getAttribute first: an empty src attribute reads back as the page URL.
        if (!img.getAttribute('src') || img.getClientRects().length === 0) continue;
        return img.src;
      }
    }
    return null;"""
    try:
        return driver.execute_script(script, list(selectors.PREVIEW_IMAGES))
    except WebDriverException:
        return None


def _scroll_for_more(driver, have: int, timeout_s: float, stats: SearchStats) -> bool:
    """Scroll to the end (and press "Show more" if present); True if results grew."""
    wait_s = min(timeout_s, 5.0)
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight);")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        time.sleep(0.1)
        _raise_if_blocked_fast(driver)
        if _thumbnail_count(driver, stats) > have:
            return True
        for selector in selectors.SHOW_MORE_BUTTONS:
            for button in driver.find_elements(By.CSS_SELECTOR, selector):
                try:
                    if button.is_displayed():
                        button.click()
                except WebDriverException:  # gone or covered: the next poll tries again
                    pass
    return False


def _raise_if_blocked_fast(driver) -> None:
    # URL first: reading the whole page source on every poll is slow on Google's pages.
    if any(m in driver.current_url for m in selectors.BLOCKED_URL_MARKERS):
        _raise_if_blocked(driver)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:160]
