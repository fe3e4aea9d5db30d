"""scraper.http and the folder bookkeeping of dataset.scraped, without a browser.

The stand-in serves the faulty URLs from a thread on 127.0.0.1; the SSRF guard is
exercised with literal addresses, so nothing here needs a network or DNS.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from dataset.scraped import MANIFEST, reconcile
from devtools.standin import serve
from scraper import http
from scraper.downloader import parse_data_uri
from scraper.errors import ScrapeError
from scraper.storage import short_url
from tests.helpers import make_image
from tests.raw_server import RawServer, answer, slow_redirects, trickle


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("pictures")
    for label in ("ai", "real"):
        (root / label).mkdir()
        for i in range(4):
            (root / label / f"{label}{i}.jpg").write_bytes(make_image(96, 72, seed=i))
    httpd = serve(root, 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def session():
    s = http.new_session(retries=2, backoff=0.1)
    yield s
    s.close()


def fetch(session, url, allow=("127.0.0.1",), max_bytes=1_000_000, timeout=1.0):
    return http.fetch_bytes(session, url, allow_hosts=allow, max_bytes=max_bytes, timeout=timeout)


# --- the SSRF guard ---


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1/x.jpg", "loopback"),
        ("http://[::1]/x.jpg", "loopback"),
        ("http://2130706433/x.jpg", "loopback"),  # 127.0.0.1 as one decimal number
        ("http://[::ffff:127.0.0.1]/x.jpg", "loopback"),
        ("http://10.1.2.3/x.jpg", "private"),
        ("http://192.168.0.1/x.jpg", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),  # cloud metadata
        ("http://0.0.0.0/x.jpg", "unspecified"),
        ("http://224.0.0.1/x.jpg", "multicast"),
        ("file:///etc/passwd", "only http and https"),
        ("ftp://example.com/x.jpg", "only http and https"),
        ("http:///x.jpg", "without a host"),
    ],
)
def test_check_url_refuses_non_public_targets(url, why):
    with pytest.raises(ScrapeError, match=why) as caught:
        http.check_url(url)
    assert "\n" not in str(caught.value)


def test_check_url_allows_public_addresses_and_allowed_hosts():
    http.check_url("http://93.184.216.34/x.jpg")  # a global literal: no DNS needed
    http.check_url("http://127.0.0.1:8765/x.jpg", allow_hosts=("127.0.0.1",))
    http.check_url("http://LOCALHOST/x.jpg", allow_hosts=("localhost",))
    with pytest.raises(ScrapeError, match="loopback"):
        http.check_url("http://127.0.0.1/x.jpg", allow_hosts=("localhost",))


def test_a_redirect_to_loopback_is_refused_even_from_an_allowed_host(server, session):
    base, _ = server
    port = base.rsplit(":", 1)[1]
    target = f"http://127.0.0.1:{port}/images/real/real0.jpg"
    redirect = f"http://localhost:{port}/redirect?to={quote(target)}"
    with pytest.raises(ScrapeError, match=r"refused 127\.0\.0\.1: .*loopback"):
        fetch(session, redirect, allow=("localhost",))
    data, _ = fetch(session, redirect, allow=("localhost", "127.0.0.1"))  # both allowed: followed
    assert data.startswith(b"\xff\xd8")


def test_too_many_redirects_is_one_line(server, session):
    base, _ = server
    url = "/images/real/real0.jpg"
    for _ in range(http.MAX_REDIRECTS + 2):
        url = f"/redirect?to={quote(url)}"
    with pytest.raises(ScrapeError, match="too many redirects"):
        fetch(session, base + url)


# --- failures, each one line ---


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/fault/404.jpg", r"^HTTP 404 from 127\.0\.0\.1$"),
        ("/fault/500.jpg", r"^HTTP 500 from 127\.0\.0\.1$"),
        ("/fault/slow.jpg", r"^timed out after 1 s waiting for 127\.0\.0\.1$"),
        ("/fault/big.jpg", r"^larger than 1000000 bytes"),
    ],
)
def test_download_failures_are_one_line(server, session, path, message):
    base, _ = server
    with pytest.raises(http.FetchError, match=message):
        fetch(session, base + path)


def test_nothing_listening_is_could_not_connect(session):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(http.FetchError, match="could not connect to 127.0.0.1"):
        fetch(session, f"http://127.0.0.1:{port}/x.jpg")


def test_429_with_retry_after_is_retried_then_succeeds(server, session):
    base, root = server
    data, content_type = fetch(session, base + "/fault/429/real1.jpg", timeout=5)
    assert data == (root / "real" / "real1.jpg").read_bytes() and content_type == "image/jpeg"


def test_content_type_is_reported_not_trusted(server, session):
    base, _ = server
    data, content_type = fetch(session, base + "/fault/page.jpg")
    assert content_type == "image/jpeg" and data.lstrip().lower().startswith(b"<!doctype html")


# --- one deadline over the whole fetch ---

# A byte every 0.2 s for 8 s: each read is quick, only a total deadline ends it early.
TRICKLES = {
    "headers": (b"HTTP/1.1 200 OK\r\nX-Slow: ", b"a"),
    "endless 100 Continue": (b"", b"HTTP/1.1 100 Continue\r\n\r\n"),
    "body": (b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", b"\xff"),
    "chunked body": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"1\r\n\xff\r\n"),
    "body without a length": (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", b"\xff"),
}


@pytest.mark.parametrize("what", TRICKLES)
def test_a_trickling_server_cannot_hold_a_download_past_its_deadline(session, what):
    with RawServer(trickle(*TRICKLES[what])) as server:
        with pytest.raises(
            http.FetchError, match=r"^timed out after 1 s waiting for 127\.0\.0\.1$"
        ):
            fetch(session, f"{server.url}/x.jpg", timeout=1)
        assert not server.finished.is_set()  # the fetch gave up while the server trickled


def test_a_retry_after_longer_than_the_deadline_ends_the_fetch_at_once(session):
    unavailable = b"HTTP/1.1 503 Busy\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n"
    with RawServer(answer(unavailable)) as server:
        with pytest.raises(http.FetchError, match=r"^HTTP 503 from 127\.0\.0\.1$"):
            fetch(session, f"{server.url}/x.jpg", timeout=1)
        assert server.received.count(b"GET /x.jpg ") == 1  # no wait in vain, no retry


def test_the_deadline_covers_every_redirect_hop(session):
    # six hops of 0.3 s each, against 1 s in all; before, it ended in "too many redirects"
    with (
        RawServer(slow_redirects(0.3)) as server,
        pytest.raises(http.FetchError, match="^timed out after 1 s") as caught,
    ):
        fetch(session, f"{server.url}/x.jpg", timeout=1)
    assert caught.value.kind == "timed out"


@pytest.fixture
def slow_names(monkeypatch):
    """A resolver that takes 5 s to answer for *.slow.test (127.0.0.1), as a dead name
    server does; other names resolve as usual."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if str(host).endswith(".slow.test"):
            time.sleep(5)
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize("allowed", [False, True], ids=["checked name", "allowed name"])
def test_a_slow_name_server_cannot_hold_a_download_past_its_deadline(
    session, server, slow_names, allowed
):
    # checked: the URL check resolves the name; allowed: it is skipped and the
    # connection resolves it. Before, each waited the resolver's 5 s out.
    port = server[0].rsplit(":", 1)[1]
    began = time.monotonic()
    with pytest.raises(http.FetchError, match=r"^timed out after 1 s waiting for a\.slow\.test$"):
        fetch(session, f"http://a.slow.test:{port}/ai/ai0.jpg",
              allow=("a.slow.test",) if allowed else (), timeout=1)  # fmt: skip
    assert time.monotonic() - began < 4


def test_stalled_name_servers_cannot_fill_the_resolver_for_other_fetches(server, slow_names):
    """Ten downloads of names whose name server stalls (5 s), then one of a name that
    answers: the old shared pool's eight threads were all held by the stalled lookups and
    this fetch queued behind them until its deadline. Now a stalled site holds
    resolver.PER_SITE threads and the rest of its lookups fail at once."""
    from scraper.errors import FetchError

    port = server[0].rsplit(":", 1)[1]

    def stalled(i):
        with http.new_session() as own, pytest.raises(FetchError):
            fetch(own, f"http://n{i}.slow.test:{port}/ai/ai0.jpg", allow=(), timeout=1)

    threads = [threading.Thread(target=stalled, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)  # every stalled lookup is under way
    began = time.monotonic()
    body, _ = fetch(http.new_session(), f"http://localhost:{port}/images/ai/ai0.jpg",
                    allow=(f"localhost:{port}",), timeout=2)  # fmt: skip
    assert body and time.monotonic() - began < 1.5
    for thread in threads:
        thread.join()


def test_the_resolver_shares_a_pending_lookup_and_refuses_past_its_limits(slow_names):
    from scraper.resolver import Resolver

    resolver = Resolver(per_site=2, max_pending=3)
    first = resolver.resolve("a.slow.test", 80)
    assert resolver.resolve("a.slow.test", 80) is first  # shared, not looked up again
    resolver.resolve("b.slow.test", 80)
    with pytest.raises(socket.gaierror, match="name servers of slow.test are not answering"):
        resolver.resolve("c.slow.test", 80).result(0)
    assert resolver.resolve("localhost", 80).result(2)  # another site still resolves
    assert first.result(6)


# --- the folder: resume bookkeeping ---


def record(name, data, query="cats", label="real"):
    return {"file": name, "query": query, "label": label, "sha256": http_sha(data)}


def http_sha(data):
    from dataset.hashing import file_sha256

    return file_sha256(data)


def test_reconcile_makes_folder_and_manifest_agree(tmp_path: Path):
    good, other, orphan = (make_image(seed=s) for s in (1, 2, 3))
    (tmp_path / "aaaaaaaaaaaaaaaa.jpg").write_bytes(good)
    (tmp_path / "bbbbbbbbbbbbbbbb.jpg").write_bytes(other)  # of an earlier query
    (tmp_path / "cccccccccccccccc.jpg").write_bytes(orphan)  # killed before its line
    (tmp_path / ".dddddddddddddddd.jpg.123.part").write_bytes(good[:50])  # killed mid-write
    (tmp_path / ".ffffffffffffffff.jpg.tmp-123").write_bytes(good[:50])  # the same, today
    (tmp_path / "notes.txt").write_text("not ours")  # left alone
    lines = [
        record("aaaaaaaaaaaaaaaa.jpg", good),
        record("bbbbbbbbbbbbbbbb.jpg", other, query="dogs"),
        record("eeeeeeeeeeeeeeee.jpg", good),  # its file is gone
    ]
    text = "".join(json.dumps(r) + "\n" for r in lines) + '{"file": "torn'
    (tmp_path / MANIFEST).write_text(text)

    kept, dropped = reconcile(tmp_path, "cats", "real")

    assert [r["file"] for r in kept] == ["aaaaaaaaaaaaaaaa.jpg"] and dropped == 2
    assert sorted(os.listdir(tmp_path)) == ["aaaaaaaaaaaaaaaa.jpg", MANIFEST, "notes.txt"]
    on_disk = [json.loads(line) for line in (tmp_path / MANIFEST).read_text().splitlines()]
    assert on_disk == kept


def test_data_uris_are_decoded_and_shortened():
    import base64

    data = make_image()
    uri = "data:image/jpeg;base64," + base64.b64encode(data).decode()
    assert parse_data_uri(uri) == data
    assert short_url(uri) == "data:image/jpeg;base64,…"
    assert short_url("http://x/y.jpg") == "http://x/y.jpg"
