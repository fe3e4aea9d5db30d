"""Start the browser the scraper drives: local headless Chromium or a Selenium Grid.

Selenium Manager is kept offline: the Chromium and chromedriver binaries are
given explicitly, so nothing is looked up or downloaded at start-up.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

from scraper.errors import ScrapeError
from settings.errors import first_line

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
CHROMEDRIVER_CANDIDATES = ("/usr/bin/chromedriver", "chromedriver")
INSTALL_HINT = "apt-get install chromium chromium-driver, or set scrape.webdriver_url"

CHROME_ARGS = (
    "--headless=new",
    "--no-sandbox",  # containers and CI run as root without user namespaces
    "--disable-dev-shm-usage",  # /dev/shm is 64 MB in Docker; Chromium crashes on it
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1000",
    "--lang=en-US",
)


def start_browser(
    webdriver_url: str | None = None, *, page_timeout_s: float = 20, profile_dir=None
):
    """A WebDriver: Chromium on this machine, or the Grid at `webdriver_url`.

    A fresh temporary profile (no cookies, no cache) is made for a local browser
    unless `profile_dir` is given; a temporary one is deleted when the driver quits.
    Raises ScrapeError with one line saying what to do when no browser can start.
    """
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not go online
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    if webdriver_url:
        driver = _remote(webdriver, webdriver_url, options)
    else:
        driver = _local(webdriver, options, profile_dir)
    driver.set_page_load_timeout(page_timeout_s)
    driver.set_script_timeout(page_timeout_s)
    return driver


def _remote(webdriver, url: str, options):
    try:
        return webdriver.Remote(command_executor=url, options=options)
    except Exception as e:  # noqa: BLE001 - urllib3, WebDriver and socket errors alike
        raise ScrapeError(
            f"cannot start a browser through the WebDriver at {url} ({first_line(e)}); "
            "check scrape.webdriver_url, or unset it to use local Chromium"
        ) from None


def _local(webdriver, options, profile_dir):
    from selenium.webdriver.chrome.service import Service

    chromium = _find(CHROMIUM_CANDIDATES)
    chromedriver = _find(CHROMEDRIVER_CANDIDATES)
    if chromium is None or chromedriver is None:
        missing = "Chromium" if chromium is None else "chromedriver"
        raise ScrapeError(f"{missing} is not installed: {INSTALL_HINT}")
    temporary = profile_dir is None
    profile = Path(tempfile.mkdtemp(prefix="scraper-profile-")) if temporary else Path(profile_dir)
    options.binary_location = chromium
    options.add_argument(f"--user-data-dir={profile}")
    try:
        driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    except Exception as e:  # noqa: BLE001 - a browser that will not start, whatever the cause
        if temporary:
            shutil.rmtree(profile, ignore_errors=True)
        raise ScrapeError(f"Chromium did not start ({first_line(e)}): {INSTALL_HINT}") from None
    driver.profile_dir = profile
    if temporary:
        _delete_on_quit(driver, profile)
    return driver


def user_agent(driver) -> str | None:
    """The browser's own User-Agent for downloads, minus the "Headless" that flags a bot."""
    try:
        agent = driver.execute_script("return navigator.userAgent")
    except Exception:  # noqa: BLE001 - a browser that cannot answer: use the default
        return None
    return agent.replace("HeadlessChrome", "Chrome") if isinstance(agent, str) and agent else None


def _delete_on_quit(driver, profile: Path) -> None:
    """Make driver.quit() also delete the temporary profile (cookies, cache: megabytes)."""
    quit_browser = driver.quit

    def quit_and_clean():
        try:
            quit_browser()
        finally:
            shutil.rmtree(profile, ignore_errors=True)

    driver.quit = quit_and_clean


@contextmanager
def sigterm_interrupts():
    """Inside the block, SIGTERM (what `kill`, a service manager or a CI runner sends)
    interrupts like Ctrl-C, so the `finally` that quits the browser runs: Python's
    default is to die at once, leaving Chromium and chromedriver running. Only in the
    main thread, where signals arrive; elsewhere the block runs unchanged."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _find(candidates) -> str | None:
    for name in candidates:
        if os.path.isabs(name):
            if os.access(name, os.X_OK):
                return name
        elif found := shutil.which(name):
            return found
    return None
