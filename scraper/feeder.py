"""The feeder: a query's results page opened (consent, captcha handled) and scrolled for more.

It owns the browser's navigation; what is on a page is scraper/parser.py's business.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from bs4 import BeautifulSoup
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.common.by import By

from scraper import consent, selectors
from scraper.errors import ScrapeError
from scraper.pacing import Pacer
from settings.errors import first_line

SCROLL_WAIT_S = 5.0  # how long new results may take to appear after a scroll
POLL_S = 0.1

# How many tiles the page holds, by the first tile selector that matches: one
# script call, so polling after a scroll does not copy the whole page each time.
COUNT_TILES = """
for (const sel of arguments[0]) {
  const n = document.querySelectorAll(sel).length;
  if (n) return n;
}
return 0;"""

# Bring the last tile into view: that scrolls whichever element holds the results
# (the window, or a scrolling container), which is what makes Google load more.
SCROLL_TO_LAST_TILE = """
for (const sel of arguments[0]) {
  const all = document.querySelectorAll(sel);
  if (all.length) { all[all.length - 1].scrollIntoView({block: 'end'}); break; }
}
window.scrollTo(0, document.body.scrollHeight);"""


class SearchBlocked(ScrapeError):
    """Google stopped the search (captcha) or its page has no result we can read."""


def search_url_for(search_url: str, query: str) -> str:
    return f"{search_url}?{urlencode({'q': query, 'udm': 2, 'hl': 'en'})}"


def open_search(driver, query: str, search_url: str, *, timeout_s: float, pacer: Pacer, stats):
    """Open the results page of `query`, past the consent page; SearchBlocked on a captcha."""
    url = search_url_for(search_url, query)
    pacer.before_query()
    _open(driver, url)
    if consent.on_consent_page(driver):
        _raise_if_blocked(driver)  # a captcha page is no consent page, whatever its URL
        choice = consent.dismiss(driver, timeout_s, f"while searching '{query}'")
        stats.consent, stats.consent_found_by = choice.text, choice.found_by
        if not _on_results_page(driver, url):
            _open(driver, url)
    _raise_if_blocked(driver)
    return url


def _open(driver, url: str) -> None:
    try:
        driver.get(url)
    except TimeoutException:
        raise ScrapeError(f"the search page did not load in time: {url[:120]}") from None
    except WebDriverException as e:
        raise ScrapeError(f"the browser could not open {url[:120]} ({first_line(e)})") from None


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


def tile_count(driver) -> int:
    return int(driver.execute_script(COUNT_TILES, list(selectors.TILES)) or 0)


def raise_if_no_results(driver) -> None:
    _raise_if_blocked(driver)
    raise SearchBlocked(
        f"no image results on {driver.current_url[:120]}: none of the tile selectors "
        "matched (Google may have changed its page; update scraper/selectors.py)"
    )


def scroll_for_more(driver, have: int, timeout_s: float) -> bool:
    """Scroll to the last result (and press "Show more" if present); True if results grew."""
    driver.execute_script(SCROLL_TO_LAST_TILE, list(selectors.TILES))
    deadline = time.monotonic() + min(timeout_s, SCROLL_WAIT_S)
    while time.monotonic() < deadline:
        time.sleep(POLL_S)
        _raise_if_blocked_fast(driver)
        if tile_count(driver) > have:
            return True
        _press_show_more(driver)
    return False


def _press_show_more(driver) -> None:
    for selector in selectors.SHOW_MORE_BUTTONS:
        for button in driver.find_elements(By.CSS_SELECTOR, selector):
            try:
                if button.is_displayed():
                    button.click()
            except WebDriverException:  # gone or covered: the next poll tries again
                pass


def _raise_if_blocked_fast(driver) -> None:
    # URL first: reading the whole page source on every poll is slow on Google's pages.
    if any(m in driver.current_url for m in selectors.BLOCKED_URL_MARKERS):
        _raise_if_blocked(driver)
