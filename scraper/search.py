"""Google Images in a real browser: results in page order, each with its best URL.

For each tile of the results page (scraper/parser.py reads `driver.page_source`):
1. the full-size URL, size and source page from the page's inline script data,
   matched by the tile's data-docid (no click: the fast path);
2. else the preview panel's URL, by clicking the tile (scraper/preview.py);
3. else the tile's thumbnail, as a last resort the caller may refuse.
The feeder (scraper/feeder.py) opens and scrolls the page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from scraper import feeder, parser, preview, selectors
from scraper.pacing import Pacer

SOURCES = ("script", "preview", "thumbnail")  # manifest url_source, best first


@dataclass(frozen=True)
class Candidate:
    """One search result: the URL to download, where it came from, and its page."""

    url: str
    thumbnail: str
    page_url: str | None  # the page the picture is on (not Google's results page)
    url_source: str  # one of SOURCES
    results_url: str = ""  # the Google results page it was found on
    width: int | None = None  # as the script data lists them (before download)
    height: int | None = None


@dataclass
class SearchStats:
    """What happened in the browser, for the summary and the tests."""

    consent: str | None = None  # the consent button pressed, if any
    consent_found_by: str | None = None  # "form" (structure) or "text" (fallback list)
    scroll_rounds: int = 0
    thumbnails: int = 0  # tiles seen
    # candidates yielded, by where their URL came from (some are refused later)
    sources: dict = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))
    selector: str | None = None  # the tile selector that matched
    preview_selector: str | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def previews(self) -> int:
        return self.sources["preview"]

    @property
    def fallbacks(self) -> int:
        return self.sources["thumbnail"]


def iter_candidates(
    driver,
    query: str,
    *,
    search_url: str,
    max_scroll_rounds: int = 30,
    page_timeout_s: float = 20,
    stats: SearchStats | None = None,
    pacer: Pacer | None = None,
    log: Callable[[str], object] = print,
) -> Iterator[Candidate]:
    """Yield results in page order, deduplicated by URL, scrolling for more as needed.

    The caller stops iterating when it has enough. Raises SearchBlocked (after
    yielding what it found) on the unusual-traffic page or when no tile matches.
    """
    stats = stats if stats is not None else SearchStats()
    pacer = pacer or Pacer()
    results_url = feeder.open_search(
        driver, query, search_url, timeout_s=page_timeout_s, pacer=pacer, stats=stats
    )
    seen: set[str] = set()
    done = 0  # tiles already handled
    while True:
        page = parser.parse(driver.page_source, driver.current_url)
        if not page.tiles and done == 0:
            feeder.raise_if_no_results(driver)
        _note_fallbacks(page, stats, log)
        stats.thumbnails = len(page.tiles)
        for tile in page.tiles[done:]:
            done = tile.index + 1
            candidate = _candidate(driver, page, tile, results_url, stats, pacer, log)
            if candidate and candidate.url not in seen:
                seen.add(candidate.url)
                stats.sources[candidate.url_source] += 1
                yield candidate
        if stats.scroll_rounds >= max_scroll_rounds:
            stats.notes.append(f"stopped after {stats.scroll_rounds} scroll rounds")
            return
        stats.scroll_rounds += 1
        if not feeder.scroll_for_more(driver, done, page_timeout_s):
            stats.notes.append("no more results")
            return


def _candidate(driver, page, tile, results_url, stats, pacer, log) -> Candidate | None:
    entry = page.entries.get(tile.docid) if tile.docid else None
    if entry is not None:
        return Candidate(
            entry.url, tile.thumbnail or entry.thumbnail, entry.page_url or tile.page_url,
            "script", results_url, entry.width, entry.height,
        )  # fmt: skip
    pacer.between_clicks()
    url = preview.full_size_url(driver, page.tile_selector, tile.index, tile.thumbnail, stats)
    _warn_once(stats, log, "preview picture", selectors.PREVIEW_IMAGES, stats.preview_selector)
    if url:
        return Candidate(url, tile.thumbnail, tile.page_url, "preview", results_url)
    if tile.thumbnail:
        return Candidate(tile.thumbnail, tile.thumbnail, tile.page_url, "thumbnail", results_url)
    return None


def _note_fallbacks(page, stats: SearchStats, log) -> None:
    stats.selector = page.tile_selector
    _warn_once(stats, log, "result tile", selectors.TILES, page.tile_selector)
    _warn_once(stats, log, "tile picture", selectors.TILE_IMAGES, page.image_selector)


def _warn_once(stats: SearchStats, log, what: str, choices, matched: str | None) -> None:
    """One warning line per run when a fallback selector, not today's, found `what`."""
    if matched is None or matched == choices[0]:
        return
    line = (
        f"warning: no {what} matched '{choices[0]}'; the fallback '{matched}' did "
        "(Google changed its page: update scraper/selectors.py)"
    )
    if line not in stats.warnings:
        stats.warnings.append(line)
        log(line)
