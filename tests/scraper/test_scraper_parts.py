"""The scraper's parts without a browser: the results-page parser, the pacer, the
browser's User-Agent for downloads, Retry-After and malformed URLs in downloads."""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack

import pytest

from devtools.standin import items_for, script_data, serve
from scraper import http, parser
from scraper.browser import user_agent
from scraper.collect import Report
from scraper.downloader import Downloader, Limits, download_all
from scraper.errors import Rejected
from scraper.pacing import Pacer
from scraper.search import Candidate
from scraper.storage import Storage
from tests.helpers import make_image
from tests.raw_server import RawServer, redirect_to

BASE = "http://127.0.0.1:9"


class FakeStandIn:
    """items_for's view of the stand-in: three pictures of one query."""

    def results(self, query):
        return [("real", f"p{i}.jpg") for i in range(3)]

    def size(self, label, name):
        return (480, 640)


def page(script: str, tiles: str) -> str:
    return f"<html><body><div id='rso'>{tiles}</div><script>{script}</script></body></html>"


def tile(docid, thumb="data:image/jpeg;base64,AAAA", cls="eA0Zlc", lpage="/page/x.html"):
    return (f'<div class="{cls}" data-docid="{docid}" data-lpage="{lpage}">'
            f'<g-img><img class="YQ4gaf" src="{thumb}"></g-img></div>')  # fmt: skip


def test_script_entries_give_url_size_and_source_page_by_docid():
    items = items_for(FakeStandIn(), "cats", 0, 3, BASE)
    tiles = "".join(tile(i["docid"]) for i in items)
    parsed = parser.parse(page(script_data(items, "cats", BASE), tiles))
    assert [t.docid for t in parsed.tiles] == [i["docid"] for i in items]
    for item in items:
        entry = parsed.entries[item["docid"]]
        assert entry.url == item["full"] and (entry.height, entry.width) == (480, 640)
        assert entry.page_url == item["page"] and entry.page_url.startswith(f"{BASE}/page/real/")
    assert parsed.tile_selector == "div.eA0Zlc[data-docid]"


def test_google_escapes_are_decoded_and_a_malformed_entry_is_skipped():
    good = (r'[0,"AbC-12_x",["https://encrypted-tbn0.gstatic.com/images?q\u003dtbn:1",180,240],'
            r'["https://example.org/a.jpg?w\u003d1\u0026h\u003d2",1080,1920],null,0,"rgb(1,2,3)",'
            r'null,0,{"2000":[null,"example.org","9KB"],'
            r'"2003":[null,"ref","https://example.org/p?a\u003d1","T"]}]')  # fmt: skip
    broken = r'[0,"Bad",["t",1,1],["unterminated,1,1]'
    text = f'var m={{"x1":[1,{good}],"x2":[1,{broken}]}};'
    entries = parser.parse(page(text, "")).entries
    assert list(entries) == ["AbC-12_x"]
    entry = entries["AbC-12_x"]
    assert entry.url == "https://example.org/a.jpg?w=1&h=2"
    assert (entry.width, entry.height) == (1920, 1080)
    assert entry.page_url == "https://example.org/p?a=1"


def test_tiles_fall_back_to_structure_and_resolve_relative_urls():
    html = page("", tile("d1", thumb="/thumb/a.jpg", cls="Renamed") + tile("d2", cls="Renamed"))
    parsed = parser.parse(html, f"{BASE}/search?q=x")
    assert parsed.tile_selector == "[data-docid]"
    assert parsed.tiles[0].thumbnail == f"{BASE}/thumb/a.jpg"
    assert parsed.tiles[0].page_url == f"{BASE}/page/x.html"
    assert parsed.tiles[1].thumbnail.startswith("data:")  # data: URIs stay as they are


def test_a_page_without_tiles_has_none():
    parsed = parser.parse("<html><body><p>No pictures.</p></body></html>")
    assert parsed.tiles == [] and parsed.tile_selector is None and parsed.entries == {}


def test_pauses_are_jittered_around_their_setting(monkeypatch, tmp_path):
    from scraper import pacing

    slept = []
    monkeypatch.setattr(pacing.time, "sleep", slept.append)
    clock = tmp_path / "last-search"
    pacer = Pacer(click_pause_s=1.0, query_pause_s=10.0, seed=1, clock_file=clock)
    for _ in range(200):
        pacer.between_clicks()
    assert 0.5 <= min(slept) < 0.6 and 1.4 < max(slept) <= 1.5  # spread, not a fixed rhythm
    slept.clear()
    pacer.before_query()  # the machine's first search: no wait
    # The next search, from another process (another keyword's stage), waits 5-15 s.
    Pacer(query_pause_s=10.0, clock_file=clock).before_query()
    assert len(slept) == 1 and 5.0 <= slept[0] <= 15.0
    assert Pacer().jittered(0.0) == 0.0


def test_a_picture_listed_smaller_than_min_side_is_not_downloaded():
    seconds = {}
    downloader = Downloader(Limits(min_side=32), seconds, print)
    icon = Candidate("http://[::1/never-fetched", "", None, "script", width=16, height=300)
    with pytest.raises(Rejected, match=r"^too small as listed \(16x300; scrape.min_side is 32\)"):
        downloader.picture(icon)
    assert seconds == {}  # no download, no decode


class FakeDriver:
    def __init__(self, agent):
        self.agent = agent

    def execute_script(self, script):
        assert script == "return navigator.userAgent"
        return self.agent


def test_the_download_user_agent_is_the_browsers_minus_headless():
    agent = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/131.0.0.0 Safari/537.36"
    )
    assert user_agent(FakeDriver(agent)) == agent.replace("HeadlessChrome", "Chrome")
    assert user_agent(FakeDriver(None)) is None  # the default User-Agent is used then
    session = http.new_session(user_agent="Test/1.0")
    assert session.headers["User-Agent"] == "Test/1.0"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("pictures")
    for label in ("ai", "real"):
        (root / label).mkdir()
        (root / label / f"{label}0.jpg").write_bytes(make_image(96, 72))
    httpd = serve(root, 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize(("cap", "waited", "capped"), [(30.0, 1.0, False), (0.2, 0.2, True)])
def test_retry_after_is_honoured_up_to_the_cap_and_logged(server, cap, waited, capped):
    lines = []
    session = http.new_session(retries=2, backoff=0.0, retry_after_cap_s=cap, log=lines.append)
    started = time.monotonic()
    data, _ = http.fetch_bytes(session, f"{server}/fault/429/real0.jpg",
                               allow_hosts=("127.0.0.1",), max_bytes=10**6, timeout=5)  # fmt: skip
    assert data.startswith(b"\xff\xd8") and time.monotonic() - started >= waited * 0.9
    assert lines == [
        f"HTTP 429 from 127.0.0.1: waiting {waited:g} s as its Retry-After asks"
        + (" (capped by scrape.retry_after_cap_s)" if capped else "")
    ]


# Addresses no parser takes: a bracket left open, not an address in brackets, a fullwidth
# number sign (U+FF03) that NFKC turns into "#" inside the host, a port that is a word.
MALFORMED = (
    "http://[::1/x.jpg",
    "http://[zz]/x.jpg",
    "https://[::1",
    "http://a\uff03b.example/x.jpg",
    "http://example.com:port/x.jpg",
)


@pytest.mark.parametrize("url", MALFORMED)
def test_a_malformed_url_is_one_refusal_with_its_reason(url):
    with pytest.raises(http.FetchError, match=r"^malformed URL ") as caught:
        http.check_url(url)
    assert caught.value.kind == "malformed URL" and "\n" not in str(caught.value)


def test_a_malformed_redirect_is_one_refusal(server):
    session = http.new_session(retries=0)
    with pytest.raises(http.FetchError, match="malformed") as caught:
        http.fetch_bytes(session, f"{server}/redirect?to=http%3A%2F%2F%5B%3A%3A1%2Fx",
                         allow_hosts=("127.0.0.1",), max_bytes=10**6, timeout=5)  # fmt: skip
    assert caught.value.kind == "malformed URL"


def test_malformed_urls_in_results_and_redirects_are_each_one_counted_skip(server, tmp_path):
    """A result's URL, or a redirect's Location (sent as UTF-8 bytes), that no parser takes:
    one "malformed URL" skip each, one line each, and the picture after them is kept."""
    lines = []
    with ExitStack() as stack:
        hops = [stack.enter_context(RawServer(redirect_to(url))) for url in MALFORMED]
        urls = [
            *MALFORMED,
            *(f"{hop.url}/r.jpg" for hop in hops),
            f"{server}/images/real/real0.jpg",
        ]
        report = Report("cats", "real", tmp_path, 10)
        limits = Limits(allow_hosts=("127.0.0.1",), host_delay_s=0.0)
        downloader = Downloader(limits, report.seconds, lines.append)
        candidates = (Candidate(url, "", None, "script") for url in urls)
        storage = Storage(tmp_path, "cats", "real", 10)
        download_all(candidates, downloader, storage, report, workers=2)
    assert dict(report.failures) == {"malformed URL": 2 * len(MALFORMED)} and storage.count == 1
    skips = [line for line in lines if line.startswith("skip ")]
    assert len(skips) == 2 * len(MALFORMED) and all("malformed" in line for line in skips)


def test_a_full_disk_stops_the_scrape_in_one_line_and_leaves_the_folder_whole(
    server, tmp_path, monkeypatch
):
    """No space mid-append (a partial write, then ENOSPC): the manifest is cut back, the
    picture without its line is removed, and the run ends in report.error (it was a bare
    OSError from a download thread, leaving a torn line behind)."""
    import errno
    import os

    from dataset import scraped

    real_write, calls = os.write, []

    def full_disk(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(scraped.os, "write", full_disk)
    report = Report("cats", "real", tmp_path, 10)
    limits = Limits(allow_hosts=("127.0.0.1",), host_delay_s=0.0)
    downloader = Downloader(limits, report.seconds, lambda line: None)
    urls = [f"{server}/images/real/real{i}.jpg" for i in range(3)]
    storage = Storage(tmp_path, "cats", "real", 10)
    download_all((Candidate(u, "", None, "script") for u in urls), downloader, storage, report, 1)

    assert "No space left on device" in report.error and "\n" not in report.error
    assert storage.count == 0 and scraped.read_manifest(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [scraped.MANIFEST]
    assert (tmp_path / scraped.MANIFEST).read_bytes() == b""
