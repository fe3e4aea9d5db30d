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


@pytest.fixture
def trap():
    with RawServer(answer_secret) as server:
        yield server


def test_a_backslash_url_is_refused_before_it_reaches_this_machine(trap):
    # urllib.parse reads the host as the public address; requests connects to 127.0.0.1
    with pytest.raises(FetchError) as caught:
        fetch_url(rf"http://127.0.0.1:{trap.port}\@93.184.216.34/../secret", **LIMITS)
    assert str(caught.value) == REFUSED
    assert trap.received == b""


def test_an_allowed_host_and_port_is_fetched_and_no_other_port(trap):
    with RawServer(answer_secret) as allowed:
        entry = f"127.0.0.1:{allowed.port}"
        assert fetch_url(f"{allowed.url}/x.jpg", allow_hosts=(entry,), **LIMITS) == b"SECRET"
        for url in (f"{trap.url}/x.jpg", rf"http://127.0.0.1:{trap.port}\@{entry}/x.jpg"):
            with pytest.raises(FetchError) as caught:
                fetch_url(url, allow_hosts=(entry,), **LIMITS)
            assert str(caught.value) == REFUSED, url
    assert trap.received == b""


def test_a_server_trickling_its_headers_cannot_hold_the_url_box_past_its_timeout():
    with RawServer(trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ", b"a")) as server:
        with pytest.raises(FetchError, match="did not answer within 1 seconds"):
            fetch_url(f"{server.url}/x.jpg", allow_hosts=("127.0.0.1",), **LIMITS)
        assert not server.finished.is_set()  # given up while the server was still sending
