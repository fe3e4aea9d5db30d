"""A results page's HTML → its tiles and the full-size data Google ships inline.

Pure functions of the page source (BeautifulSoup and regular expressions), so
they are tested on strings and reused whatever drives the browser.

Google's results page (udm=2) carries, in inline <script> text, one entry per
result of the first page:

    [0,"<docid>",["<thumbnail>",h,w],["<full-size url>",h,w],null,0,"rgb(…)",null,0,
     {"2003":[null,"<ref docid>","<source page>","<title>",…],…}]

Each tile (`data-docid="<docid>"`) is matched to its entry by that id. Results
loaded later by scrolling are not in the page's scripts: those tiles have no
entry and the browser opens their preview panel instead (scraper/preview.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin

from bs4 import BeautifulSoup

from scraper import selectors

_STRING = r'"(?:[^"\\]|\\.)*"'
ENTRY = re.compile(
    rf'\[0,\s*"(?P<docid>[\w\-:]+)",\s*\[(?P<thumb>{_STRING}),\s*\d+,\s*\d+\],'
    rf"\s*\[(?P<full>{_STRING}),\s*(?P<height>\d+),\s*(?P<width>\d+)\]"
)
SOURCE_PAGE = re.compile(rf'"2003":\s*\[null,\s*{_STRING},\s*(?P<page>{_STRING})')
SOURCE_PAGE_REACH = 4000  # characters after an entry's start where its "2003" block lies


@dataclass(frozen=True)
class ScriptEntry:
    docid: str
    thumbnail: str
    url: str
    width: int
    height: int
    page_url: str | None


@dataclass(frozen=True)
class Tile:
    index: int  # position among the tiles the page's selector matched
    docid: str | None
    thumbnail: str
    page_url: str | None  # data-lpage: the page the picture is on


@dataclass
class ParsedPage:
    tiles: list[Tile]
    entries: dict[str, ScriptEntry]
    tile_selector: str | None = None  # the TILES entry that matched
    image_selector: str | None = None  # the TILE_IMAGES entry that matched the first tile


def parse(page_source: str, page_url: str = "") -> ParsedPage:
    """The page's tiles and script entries; relative URLs resolved against `page_url`."""
    soup = BeautifulSoup(page_source, "html.parser")
    page = ParsedPage([], script_entries(soup))
    page.tile_selector, page.tiles, page.image_selector = tiles(soup, page_url)
    return page


def script_entries(soup: BeautifulSoup) -> dict[str, ScriptEntry]:
    """docid → entry, from every inline script of the page (first entry of an id wins)."""
    found: dict[str, ScriptEntry] = {}
    for script in soup.find_all("script"):
        text = script.string or ""
        if '[0,"' not in text and "[0, " not in text:
            continue
        for entry in entries_in(text):
            found.setdefault(entry.docid, entry)
    return found


def entries_in(text: str):
    """The result entries in one script's text; a malformed entry is skipped, not fatal."""
    for match in ENTRY.finditer(text):
        try:
            thumb, url = json.loads(match["thumb"]), json.loads(match["full"])
        except ValueError:
            continue
        if not isinstance(url, str) or not url:
            continue
        yield ScriptEntry(
            match["docid"], thumb, url, int(match["width"]), int(match["height"]),
            _source_page(text, match.end()),
        )  # fmt: skip


def _source_page(text: str, start: int) -> str | None:
    tail = text[start : start + SOURCE_PAGE_REACH]
    following = ENTRY.search(tail)  # never read the next entry's block
    found = SOURCE_PAGE.search(tail[: following.start()] if following else tail)
    if not found:
        return None
    try:
        page = json.loads(found["page"])
    except ValueError:
        return None
    return page if isinstance(page, str) and page else None


def tiles(soup: BeautifulSoup, page_url: str = "") -> tuple[str | None, list[Tile], str | None]:
    """(tile selector, tiles in page order, image selector): the first selector that matches."""
    for selector in selectors.TILES:
        elements = soup.select(selector)
        if elements:
            break
    else:
        return None, [], None
    found, image_selector = [], None
    for index, element in enumerate(elements):
        chosen, img = _tile_image(element)
        image_selector = image_selector or chosen
        thumbnail = (img.get("src") or img.get("data-src") or "") if img else ""
        source_page = element.get("data-lpage")
        found.append(
            Tile(
                index, element.get("data-docid"), _absolute(page_url, thumbnail),
                _absolute(page_url, source_page) if source_page else None,
            )
        )  # fmt: skip
    return selector, found, image_selector


def _absolute(page_url: str, url: str) -> str:
    """`url` as the browser reads it (img.src): resolved against the page; kept if malformed."""
    if not url or url.startswith("data:") or not page_url:
        return url
    try:
        return urljoin(page_url, url)
    except ValueError:  # e.g. a bad IPv6 literal: the downloader reports it, one line
        return url


def _tile_image(tile):
    for selector in selectors.TILE_IMAGES:
        img = tile.select_one(selector)
        if img is not None:
            return selector, img
    return None, None
