"""app.fetch: the URL box's fetch, without Streamlit. A URL that hides this machine
behind a backslash, a port that allow_hosts does not name, and a server that trickles
its answer each end in one plain sentence, before anything reaches the hidden service
and before the trickle ends.
"""

from __future__ import annotations

import pytest

from app import messages
from app.fetch import FetchError, fetch_url
from tests.raw_server import RawServer, answer_secret, trickle

LIMITS = {"max_bytes": 10**6, "timeout": 1.0}
REFUSED = messages.fetch_problem("refused", max_mb=10**6 / 2**20, timeout=1.0)
PRIVATE = messages.fetch_problem("private", max_mb=10**6 / 2**20, timeout=1.0)


@pytest.fixture
def trap():
    with RawServer(answer_secret) as server:
        yield server


def test_a_backslash_url_is_refused_before_it_reaches_this_machine(trap):
    # urllib.parse reads the host as the public address; requests connects to 127.0.0.1
    with pytest.raises(FetchError) as caught:
        fetch_url(rf"http://127.0.0.1:{trap.port}\@93.184.216.34/../secret", **LIMITS)
    assert str(caught.value) == PRIVATE  # where it would have connected: this machine
    assert trap.received == b""


def test_an_allowed_host_and_port_is_fetched_and_no_other_port(trap):
    with RawServer(answer_secret) as allowed:
        entry = f"127.0.0.1:{allowed.port}"
        assert fetch_url(f"{allowed.url}/x.jpg", allow_hosts=(entry,), **LIMITS) == b"SECRET"
        for url in (f"{trap.url}/x.jpg", rf"http://127.0.0.1:{trap.port}\@{entry}/x.jpg"):
            with pytest.raises(FetchError) as caught:
                fetch_url(url, allow_hosts=(entry,), **LIMITS)
            assert str(caught.value) == PRIVATE, url
    assert trap.received == b""


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8599/", "http://localhost:8599/a.png", "http://[::1]:8599/",
     "http://10.0.0.1/a.png", "http://192.168.1.20/a.png", "http://169.254.169.254/latest"],
)  # fmt: skip
def test_a_local_or_private_address_is_named_as_such(url):
    """Issue 27 item 6: http://127.0.0.1:8599/ starts with http://, so the sentence about
    public addresses starting with http:// did not say what was wrong."""
    with pytest.raises(FetchError) as caught:
        fetch_url(url, **LIMITS)
    sentence = str(caught.value)
    assert sentence == PRIVATE and "local or private address" in sentence
    assert "starting with http://" not in sentence


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.png", "http:///x"])
def test_a_refused_scheme_or_form_keeps_the_public_address_sentence(url):
    with pytest.raises(FetchError) as caught:
        fetch_url(url, **LIMITS)
    assert str(caught.value) == REFUSED


def test_a_server_trickling_its_headers_cannot_hold_the_url_box_past_its_timeout():
    with RawServer(trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ", b"a")) as server:
        with pytest.raises(FetchError, match="did not answer within 1 seconds"):
            fetch_url(f"{server.url}/x.jpg", allow_hosts=("127.0.0.1",), **LIMITS)
        assert not server.finished.is_set()  # given up while the server was still sending


# --- name servers that stall (issue 28) ---


@pytest.fixture
def stalling_names(monkeypatch):
    """*.silent.test: a name server that does not answer for 5 s (as one that answered
    once and went silent); fine.test answers at once with 127.0.0.1."""
    import socket
    import time

    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if str(host).endswith(".silent.test"):
            time.sleep(5)
        if str(host).endswith(".test"):
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_silent_name_server_cannot_hold_the_url_box_past_its_timeout(stalling_names):
    """The URL was checked outside the fetch's deadline: a name that never resolves held a
    1 s fetch for the resolver's whole timeout."""
    import time

    began = time.monotonic()
    with pytest.raises(FetchError, match="did not answer within 1 seconds"):
        fetch_url("http://a.silent.test/x.jpg", **LIMITS)
    assert time.monotonic() - began < 2.5


def test_stalled_names_cannot_fill_the_resolver_for_other_visitors(stalling_names):
    """Ten fetches of stalling names at once, then another visitor's fetch of a name that
    answers: the eight threads of the old shared pool were all held by the stalled
    lookups, and this fetch queued behind them until it timed out."""
    import threading
    import time

    with RawServer(answer_secret) as other:
        stalled = [
            threading.Thread(target=_fails, args=(f"http://n{i}.silent.test/x.jpg",))
            for i in range(10)
        ]
        for thread in stalled:
            thread.start()
        time.sleep(0.2)  # every stalled lookup is under way
        began = time.monotonic()
        data = fetch_url(f"http://fine.test:{other.port}/x.jpg",
                         allow_hosts=(f"fine.test:{other.port}",), **LIMITS)  # fmt: skip
        assert data == b"SECRET" and time.monotonic() - began < 1
        for thread in stalled:
            thread.join()


def _fails(url):
    with pytest.raises(FetchError):
        fetch_url(url, **LIMITS)
