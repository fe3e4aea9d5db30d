"""Google's cookie-consent interstitial: found by the form's structure, its words as fallback.

Google's consent page (consent.google.*) holds one small form per choice, each
posting to the consent endpoint's /save with hidden fields; the "reject all" form
carries set_eom=true. That structure is the same in every language, so it is tried
first; the list of button texts (scraper/selectors.py) covers a page built otherwise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By

from scraper import selectors
from scraper.errors import ScrapeError

POLL_S = 0.05


@dataclass(frozen=True)
class Choice:
    element: object  # the WebElement to click
    text: str  # its words, lower case, for the summary
    found_by: str  # "form" (structure) or "text" (the fallback list)


def on_consent_page(driver) -> bool:
    if any(marker in driver.current_url for marker in selectors.CONSENT_URL_MARKERS):
        return True
    return find_choice(driver) is not None


def find_choice(driver) -> Choice | None:
    """The button to press: the reject form's, else by text (reject before accept), or None."""
    return _by_form(driver) or _by_text(driver)


def dismiss(driver, timeout_s: float, what_for: str) -> Choice:
    """Press the consent button and wait for the page to move on; ScrapeError if none."""
    choice = find_choice(driver)
    if choice is None:
        raise ScrapeError(
            f"stuck on Google's consent page ({driver.current_url[:100]}): no consent form "
            f"and no known button (update the consent entries of scraper/selectors.py) {what_for}"
        )
    before = driver.current_url
    choice.element.click()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # the click posts a form and redirects
        if driver.current_url != before or find_choice(driver) is None:
            break
        time.sleep(POLL_S)
    return choice


def _by_form(driver) -> Choice | None:
    # A form posting to its own page's host counts only on a consent URL (the
    # stand-in's consent page is served from the same host as its results).
    url = driver.current_url
    on_consent_url = any(marker in url for marker in selectors.CONSENT_URL_MARKERS)
    page_host = (urlsplit(url).hostname or "") if on_consent_url else ""
    found = []
    for form in driver.find_elements(By.TAG_NAME, "form"):
        try:
            action = urlsplit(form.get_attribute("action") or "")
            if not _is_consent_endpoint(action, page_host):
                continue
            buttons = form.find_elements(By.CSS_SELECTOR, "button, input[type=submit]")
            if not buttons:
                continue
            name, value = selectors.CONSENT_REJECT_FIELD
            fields = form.find_elements(By.CSS_SELECTOR, f"input[name='{name}']")
            rejects = any((f.get_attribute("value") or "").lower() == value for f in fields)
            text = (buttons[0].text or buttons[0].get_attribute("value") or "").strip().lower()
        except (WebDriverException, ValueError):  # the page moved on, or a bad action URL
            continue
        found.append((0 if rejects else 1, len(found), Choice(buttons[0], text, "form")))
    return min(found, key=lambda f: f[:2])[2] if found else None


def _is_consent_endpoint(action, page_host: str) -> bool:
    """A form posting to …/save on Google's consent host (or on the consent page's own host)."""
    host = action.hostname or ""
    if not action.path.endswith(selectors.CONSENT_FORM_ACTION_PATHS):
        return False
    on_consent_host = host.startswith(selectors.CONSENT_FORM_ACTION_HOSTS)
    return on_consent_host or (host == page_host and bool(host))


def _by_text(driver) -> Choice | None:
    found = []
    for tag in selectors.CONSENT_BUTTON_TAGS:
        for element in driver.find_elements(By.CSS_SELECTOR, tag):
            try:
                text = (element.text or element.get_attribute("value") or "").strip().lower()
            except WebDriverException:  # stale: the page moved on under us
                continue
            if text in selectors.CONSENT_BUTTON_TEXTS:
                rank = selectors.CONSENT_BUTTON_TEXTS.index(text)
                found.append((rank, Choice(element, text, "text")))
    return min(found, key=lambda f: f[0])[1] if found else None
