"""The click path: open a tile's preview panel and read its full-size URL.

Only for tiles the page's script data does not cover (results loaded by
scrolling): a click costs several WebDriver round trips and a wait while the panel
swaps the thumbnail for the full picture.
"""

from __future__ import annotations

import time

from selenium.common.exceptions import WebDriverException

from scraper import selectors

PREVIEW_WAIT_S = 3.0  # how long a clicked tile's preview may take to show the full URL
POLL_S = 0.05

# The tile's clickable picture (or the tile itself) in one round trip.
FIND_TILE = """
const tile = document.querySelectorAll(arguments[0])[arguments[1]];
if (!tile) return null;
for (const sel of arguments[2]) {
  const img = tile.querySelector(sel);
  if (img) return img;
}
return tile;"""

# The visible preview picture's src and the selector that found it, in one call.
PREVIEW_SRC = """
for (const sel of arguments[0]) {
  for (const img of document.querySelectorAll(sel)) {
    // getAttribute first: an empty src attribute reads back as the page URL.
    if (!img.getAttribute('src') || img.getClientRects().length === 0) continue;
    return [sel, img.src];
  }
}
return [null, null];"""


def full_size_url(driver, tile_selector: str, index: int, thumbnail: str, stats) -> str | None:
    """Click tile `index` and wait for the preview's full-size URL; None if it never shows."""
    try:
        target = driver.execute_script(FIND_TILE, tile_selector, index, list(selectors.TILE_IMAGES))
    except WebDriverException:
        return None
    if target is None:
        return None
    _, before = preview_src(driver)
    if not _click(driver, target):
        return None
    deadline = time.monotonic() + PREVIEW_WAIT_S
    while time.monotonic() < deadline:
        selector, src = preview_src(driver)
        # While the full picture loads, the panel shows the thumbnail: not what we want.
        loading = src == thumbnail or (src or "").startswith(selectors.THUMBNAIL_URL_PREFIXES)
        if src and src != before and not loading:
            stats.preview_selector = selector
            return src
        time.sleep(POLL_S)
    return None


def _click(driver, target) -> bool:
    try:
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", target)
        target.click()
        return True
    except WebDriverException:
        try:  # covered by an overlay: a script click still opens the preview
            driver.execute_script("arguments[0].click();", target)
            return True
        except WebDriverException:
            return False


def preview_src(driver) -> tuple[str | None, str | None]:
    try:
        selector, src = driver.execute_script(PREVIEW_SRC, list(selectors.PREVIEW_IMAGES))
    except (WebDriverException, TypeError, ValueError):
        return None, None
    return selector, src
