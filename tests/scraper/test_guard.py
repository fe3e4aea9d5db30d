"""scraper.guard: the address a connection reached decides, whatever the URL says;
allow_hosts by host and port; the addresses only a private network namespace has.

Traps are raw servers on this machine that record any byte reaching them: a refusal
must come before the request is sent, so every trap must end empty.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from scraper import guard, http
from scraper.errors import ScrapeError
from tests.raw_server import RawServer, answer_secret, redirect_to

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PUBLIC = "93.184.216.34"  # a global literal after the backslash: no DNS, never connected to


def fetch(url, allow=(), timeout=3.0):
    session = http.new_session(retries=0)
    try:
        return http.fetch_bytes(session, url, allow_hosts=allow, max_bytes=10**6, timeout=timeout)
    finally:
        session.close()


@pytest.fixture
def trap():
    with RawServer(answer_secret) as server:
        yield server


@pytest.fixture
def fooled(monkeypatch):
    """check_url passes everything, as a parser that reads the host wrong or a DNS answer
    that changes before the connection (rebinding) would: the socket check must hold."""
    monkeypatch.setattr(http, "check_url", lambda url, allow_hosts=(): urlsplit(url).hostname)


def test_a_backslash_url_is_refused_by_the_host_requests_connects_to(trap):
    # urllib.parse reads the host as 93.184.216.34, requests connects to 127.0.0.1
    url = rf"http://127.0.0.1:{trap.port}\@{PUBLIC}/../secret"
    with pytest.raises(http.FetchError, match=r"^refused 127\.0\.0\.1: .*loopback") as caught:
        fetch(url)
    assert caught.value.kind == "refused" and "\n" not in str(caught.value)
    assert trap.received == b""


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/secret",
        rf"http://127.0.0.1:{{port}}\@{PUBLIC}/../secret",
        "http://localhost:{port}/secret",
        "https://127.0.0.1:{port}/secret",  # refused before the TLS hello
    ],
)
def test_the_socket_refuses_a_loopback_peer_when_the_url_check_is_fooled(trap, fooled, url):
    with pytest.raises(http.FetchError, match="connected to loopback address") as caught:
        fetch(url.format(port=trap.port))
    assert caught.value.kind == "refused" and "\n" not in str(caught.value)
    assert trap.received == b""


@pytest.mark.parametrize("check", ["url check", "socket check alone"])
def test_a_redirect_hop_is_checked_at_the_socket(trap, request, check):
    if check == "socket check alone":
        request.getfixturevalue("fooled")
    # the allowed hop (its own port only) sends us on to the trap's port, hidden behind it
    to_trap = rf"http://127.0.0.1:{trap.port}\@127.0.0.1:{{hop}}/secret"
    with RawServer(redirect_to("")) as hop:
        hop.reply = redirect_to(to_trap.format(hop=hop.port))
        with pytest.raises(http.FetchError, match=r"^refused 127\.0\.0\.1: "):
            fetch(f"{hop.url}/start.jpg", allow=(f"127.0.0.1:{hop.port}",))
        assert hop.received.startswith(b"GET /start.jpg ")  # the allowed hop was asked
    assert trap.received == b""


def test_an_allowed_host_with_a_port_allows_that_port_only(trap, fooled):
    with RawServer(answer_secret) as allowed:
        entry = f"127.0.0.1:{allowed.port}"
        assert fetch(f"{allowed.url}/x.jpg", allow=(entry,)) == (b"SECRET", "")
        with pytest.raises(
            http.FetchError, match=rf"loopback address 127\.0\.0\.1 port {trap.port}"
        ):
            fetch(rf"http://127.0.0.1:{trap.port}\@{entry}/x.jpg", allow=(entry,))
        # a bare host is allowed on any port (params.offline.yaml used to say 127.0.0.1)
        assert fetch(f"{trap.url}/x.jpg", allow=("127.0.0.1",)) == (b"SECRET", "")


def test_allow_entries_are_host_or_host_and_port():
    assert guard.parse_allowed(["127.0.0.1", "LocalHost:8765", "[::1]:8765", "::1", "[::1]"]) == (
        guard.Allowed("127.0.0.1"),
        guard.Allowed("localhost", 8765),
        guard.Allowed("::1", 8765),
        guard.Allowed("::1"),
        guard.Allowed("::1"),
    )
    http.check_url("http://127.0.0.1:8765/x.jpg", allow_hosts=("127.0.0.1:8765",))
    http.check_url("http://[::1]:8765/x.jpg", allow_hosts=("[::1]:8765",))
    http.check_url("http://127.0.0.1:9/x.jpg", allow_hosts=("127.0.0.1",))
    for url in ("http://127.0.0.1:8766/x.jpg", "http://127.0.0.1/x.jpg"):
        with pytest.raises(http.FetchError, match="loopback"):
            http.check_url(url, allow_hosts=("127.0.0.1:8765",))
    for bad in ("127.0.0.1:0", "127.0.0.1:99999", "a b", "http://127.0.0.1", "[::1"):
        with pytest.raises(ScrapeError, match="allow_hosts entry"):
            guard.parse_allowed([bad])


# --- addresses this machine does not have: a private network namespace ---

INNER = r"""
import json
from urllib.parse import urlsplit
from app.fetch import FetchError as AppFetchError, fetch_url
from scraper import http
from tests.raw_server import RawServer, answer_secret, redirect_to

def fetch(url, allow):
    session = http.new_session(retries=0)
    try:
        http.fetch_bytes(session, url, allow_hosts=allow, max_bytes=10**6, timeout=3)
        return "fetched"
    except http.FetchError as e:
        return "refused at the socket" if "connected to" in str(e) else e.kind
    finally:
        session.close()

def app(url, allow):
    try:
        fetch_url(url, allow_hosts=allow, max_bytes=10**6, timeout=3)
        return "fetched"
    except AppFetchError as e:
        refused = ("is refused", "local or private address")  # the wording names the address
        return "refused" if any(words in str(e) for words in refused) else str(e)

checked = http.check_url
traps = [RawServer(answer_secret, "169.254.169.254", 80), RawServer(answer_secret, "10.0.0.1", 80),
         RawServer(answer_secret, "::1", 8080), RawServer(answer_secret, "127.0.0.1", 8080)]
outcomes = {}
for trap in traps:
    target = trap.url.removeprefix("http://")
    hop = RawServer(redirect_to(""))
    allow = (f"127.0.0.1:{hop.port}",)
    hidden = rf"http://{target}\@{PUBLIC}/../secret"
    hop.reply = redirect_to(hidden)
    for name, url in (("direct", f"http://{target}/latest/meta-data/"), ("backslash", hidden),
                      ("redirect", f"{hop.url}/start.jpg")):
        outcomes[f"{target} {name} app"] = app(url, allow)
        http.check_url = lambda url, allow_hosts=(): urlsplit(url).hostname
        outcomes[f"{target} {name} socket only"] = fetch(url, allow)
        http.check_url = checked
print(json.dumps({"outcomes": outcomes, "received": {t.url: len(t.received) for t in traps}}))
"""


def in_private_namespace(script: str) -> subprocess.CompletedProcess:
    setup = (
        "ip link set lo up && ip addr add 10.0.0.1/32 dev lo && "
        'ip addr add 169.254.169.254/32 dev lo && exec "$0" -c "$1"'
    )
    return subprocess.run(
        ["unshare", "-rn", "sh", "-c", setup, sys.executable, script],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def namespace():
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs unshare and ip (util-linux, iproute2) for a private network namespace")
    probe = in_private_namespace("pass")
    if probe.returncode != 0:
        pytest.skip(f"cannot make a private network namespace here ({probe.stderr.strip()[:120]})")


def test_metadata_private_and_ipv6_loopback_addresses_are_refused_at_the_socket(namespace):
    """169.254.169.254, 10.0.0.1, [::1] and 127.0.0.1 on port 80 or 8080, reached directly,
    behind a backslash and after a redirect from an allowed host: through the app's URL box,
    and through the socket check alone."""
    done = in_private_namespace(INNER.replace("{PUBLIC}", PUBLIC))
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.splitlines()[-1])
    outcomes = found["outcomes"]
    assert len(outcomes) == 24
    assert {k: v for k, v in outcomes.items() if k.endswith(" app") and v != "refused"} == {}
    assert set(v for k, v in outcomes.items() if k.endswith(" only")) == {"refused at the socket"}
    assert set(found["received"].values()) == {0}, found["received"]
