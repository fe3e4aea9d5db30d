"""Downloads from the web: retries, timeouts, politeness, and the SSRF guard.

Image URLs come from search results, i.e. from strangers. Before every request
(and every redirect hop) `check_url` refuses URLs whose host resolves to this
machine or its private network, so a result cannot make the scraper (or the app)
read http://169.254.169.254/ or a service on localhost. Hosts in `allow_hosts`
(the offline stand-in on 127.0.0.1) are exempt.

Known limit: the name is resolved again when connecting, so a DNS server that
answers differently within milliseconds (rebinding) could still slip through.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from scraper.errors import ScrapeError

# Used when no browser tells us its own (scraper.browser.user_agent): downloads should
# look like the browser that found the pictures, not like a script.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
ACCEPT_IMAGES = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"
MAX_REDIRECTS = 5
RETRY_AFTER_CAP_S = 30.0  # scrape.retry_after_cap_s: a longer Retry-After waits only this
CONNECT_TIMEOUT_CAP_S = 10.0
CHUNK = 64 * 1024


class FetchError(ScrapeError):
    """A download failed; `kind` is a short category for counting (e.g. "HTTP 404")."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class CappedRetry(Retry):
    """urllib3 Retry that honours Retry-After up to `cap_s` and logs each wait.

    urllib3 copies a Retry by calling its class with the standard arguments only,
    so the cap and the log live on a subclass made per session (`capped_retry`).
    """

    cap_s: float = RETRY_AFTER_CAP_S
    log: Callable[[str], object] | None = None

    def get_retry_after(self, response):
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, self.cap_s)

    def sleep_for_retry(self, response):
        asked = super().get_retry_after(response) if response is not None else None
        if asked is not None and self.log is not None:
            capped = " (capped by scrape.retry_after_cap_s)" if asked > self.cap_s else ""
            host = getattr(getattr(response, "_pool", None), "host", None) or "the server"
            self.log(
                f"HTTP {response.status} from {host}: waiting {min(asked, self.cap_s):g} s "
                f"as its Retry-After asks{capped}"
            )
        return super().sleep_for_retry(response)


def capped_retry(cap_s: float, log=None) -> type[CappedRetry]:
    return type("CappedRetry", (CappedRetry,), {"cap_s": cap_s, "log": staticmethod(log)})


def check_url(url: str, allow_hosts=()) -> None:
    """Raise ScrapeError unless `url` is http(s) to a host with only global addresses."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as e:  # e.g. http://[::1/x: "Invalid IPv6 URL"
        raise FetchError("malformed URL", f"malformed URL {url[:100]!r} ({e})") from None
    if parts.scheme not in ("http", "https"):
        raise FetchError(
            "refused", f"refused {parts.scheme or 'relative'}: URL (only http and https)"
        )
    if not host:
        raise FetchError("refused", f"refused URL without a host: {url[:100]}")
    if host.lower() in {h.lower().strip("[]") for h in allow_hosts}:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchError("refused", f"refused URL with a bad port: {url[:100]}") from None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise FetchError("connection", f"could not resolve host {host} ({e})") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if why := _not_public(address):
            raise FetchError("refused", f"refused {host}: it resolves to {why} address {address}")


def _not_public(address) -> str | None:
    """Why an address is off limits ("loopback", "private"...), or None when global."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:  # ::ffff:127.0.0.1 is 127.0.0.1
        address = mapped
    for kind in ("loopback", "unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-global"


def new_session(
    retries: int = 3,
    backoff: float = 0.5,
    *,
    user_agent: str = USER_AGENT,
    retry_after_cap_s: float = RETRY_AFTER_CAP_S,
    log: Callable[[str], object] | None = None,
) -> requests.Session:
    """A Session that retries connection failures and 429/5xx with exponential backoff.

    A 429/503 Retry-After is honoured up to `retry_after_cap_s`, each wait logged.
    """
    retry = capped_retry(retry_after_cap_s, log)(
        total=retries,
        connect=retries,
        # A read timeout is not retried: a hung server would cost retries x timeout.
        read=False,
        status=retries,
        backoff_factor=backoff,
        backoff_max=retry_after_cap_s,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,  # the last response comes back and is reported as HTTP N
        redirect=False,  # fetch_bytes follows redirects itself, checking every hop
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": user_agent, "Accept": ACCEPT_IMAGES})
    return session


class HostThrottle:
    """At most one request per `delay_s` to each host, across threads (politeness)."""

    def __init__(self, delay_s: float):
        self.delay_s = delay_s
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str) -> None:
        if self.delay_s <= 0:
            return
        with self._lock:  # reserve a slot, then sleep outside the lock
            now = time.monotonic()
            slot = max(now, self._next.get(host, now))
            self._next[host] = slot + self.delay_s
        if slot > now:
            time.sleep(slot - now)


def fetch_bytes(
    session: requests.Session,
    url: str,
    *,
    allow_hosts=(),
    max_bytes: int,
    timeout: float,
    throttle: HostThrottle | None = None,
) -> tuple[bytes, str]:
    """(body, content type) of `url`; redirects followed here, each hop re-checked.

    The content type is what the server said, not what the bytes are: callers sniff.
    Raises FetchError (a ScrapeError) with one line on any failure.
    """
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        check_url(current, allow_hosts)
        host = urlsplit(current).hostname
        if throttle is not None:
            throttle.wait(host)
        response = _get(session, current, host, timeout)
        with response:
            if response.is_redirect:
                current = _redirect_target(current, response.headers["location"])
                continue
            if response.status_code >= 400:
                raise FetchError(
                    f"HTTP {response.status_code}", f"HTTP {response.status_code} from {host}"
                )
            body = _read_capped(response, host, max_bytes, timeout)
            return body, response.headers.get("content-type", "")
    raise FetchError(
        "redirects", f"too many redirects (more than {MAX_REDIRECTS}) from {url[:100]}"
    )


def _redirect_target(current: str, location: str) -> str:
    try:
        return urljoin(current, location)
    except ValueError as e:
        raise FetchError(
            "malformed URL", f"malformed redirect to {location[:100]!r} ({e})"
        ) from None


def _get(session, url: str, host: str, timeout: float) -> requests.Response:
    try:
        return session.get(
            url,
            stream=True,
            allow_redirects=False,
            timeout=(min(timeout, CONNECT_TIMEOUT_CAP_S), timeout),
        )
    except requests.exceptions.ConnectTimeout:
        raise FetchError("timed out", f"timed out connecting to {host}") from None
    except requests.exceptions.ReadTimeout:
        raise FetchError("timed out", f"timed out after {timeout:g} s waiting for {host}") from None
    except requests.exceptions.RetryError:
        raise FetchError("retries", f"gave up on {host} after repeated errors") from None
    except (requests.exceptions.InvalidURL, ValueError) as e:
        # check_url passed `url`: what requests could not parse is the redirect it read
        raise FetchError("malformed URL", f"malformed redirect from {host} ({e})") from None
    except requests.exceptions.RequestException as e:
        raise FetchError("connection", f"could not connect to {host} ({_root_cause(e)})") from None


def _read_capped(response, host: str, max_bytes: int, timeout: float) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError("too large", f"larger than {max_bytes} bytes ({declared} from {host})")
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise FetchError("too large", f"larger than {max_bytes} bytes (from {host})")
            chunks.append(chunk)
    except requests.exceptions.RequestException as e:
        if "timed out" in str(e).lower():
            raise FetchError(
                "timed out", f"timed out after {timeout:g} s reading from {host}"
            ) from None
        raise FetchError("connection", f"connection to {host} broke ({_root_cause(e)})") from None
    return b"".join(chunks)


def _root_cause(error: BaseException) -> str:
    """The innermost reason of a requests/urllib3 error chain, short."""
    while True:
        inner = getattr(error, "reason", None) or (error.args[0] if error.args else None)
        if isinstance(inner, BaseException) and inner is not error:
            error = inner
            continue
        break
    text = str(error).split(": ", 1)[-1] if ": " in str(error) else str(error)
    return (text.splitlines()[0] if text else type(error).__name__)[:120]
