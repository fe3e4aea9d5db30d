"""Downloads from the web: retries, timeouts, politeness, redirects hop by hop.

Where a download may connect and how long it may take are scraper/guard.py's: every
request and redirect hop is checked by URL first (`check_url`), and every
connection by the address it reached; `timeout` is one deadline for the whole fetch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import suppress
from urllib.parse import urljoin

import requests
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from scraper import connections, guard
from scraper.errors import FetchError, ScrapeError
from scraper.guard import check_url

__all__ = ["FetchError", "ScrapeError", "check_url", "fetch_bytes", "new_session"]

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

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, **kw):
        """The next retry, unless its wait would outlast the fetch's deadline: then no
        retry (the server's last answer is the result), rather than a wait in vain."""
        retry = super().increment(method, url, response, error, _pool, **kw)
        wait = retry.wait_before_retry(response)
        if wait > guard.current().remaining():
            reason = error or ResponseError(f"no time left to wait {wait:g} s for a retry")
            raise MaxRetryError(_pool, url, reason)
        return retry

    def wait_before_retry(self, response) -> float:
        """What `sleep` will wait: the Retry-After asked (capped), else the backoff."""
        if self.respect_retry_after_header and response is not None:
            asked = self.get_retry_after(response)
            if asked:
                return asked
        return self.get_backoff_time()

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


def new_session(
    retries: int = 3,
    backoff: float = 0.5,
    *,
    user_agent: str = USER_AGENT,
    retry_after_cap_s: float = RETRY_AFTER_CAP_S,
    log: Callable[[str], object] | None = None,
) -> requests.Session:
    """A guarded Session (scraper/guard.py) that retries connection failures and 429/5xx
    with exponential backoff.

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
    # A proxy from the environment would hide where a connection goes: the guard's
    # adapter refuses proxies, so downloads connect directly.
    session.trust_env = False
    adapter = connections.GuardedAdapter(max_retries=retry, pool_maxsize=16)
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

    `timeout` is the deadline of the whole fetch: connecting, waiting, retries, every
    redirect hop and the body together (the throttle's politeness waits excluded).
    `session` is one of `new_session`: its connections are checked at the socket
    against `allow_hosts`. The content type is what the server said, not what the
    bytes are: callers sniff. Raises FetchError (a ScrapeError) with one line on any
    failure.
    """
    with guard.fetching(allow_hosts, timeout) as rules:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            host = check_url(current, allow_hosts)
            if throttle is not None:
                throttle.wait(host)
            with rules.on_clock(host):
                target, body, content_type = _one_hop(session, current, host, max_bytes, rules)
            if target is None:
                return body, content_type
            current = target
    raise FetchError(
        "redirects", f"too many redirects (more than {MAX_REDIRECTS}) from {url[:100]}"
    )


def _one_hop(session, url: str, host: str, max_bytes: int, rules: guard.Rules):
    """(redirect target, None, "") or (None, body, content type) of one request."""
    response = _get(session, url, host, rules)
    with response:
        if response.is_redirect:
            return _redirect_target(url, host, response.headers["location"]), None, ""
        if response.status_code >= 400:
            raise FetchError(
                f"HTTP {response.status_code}", f"HTTP {response.status_code} from {host}"
            )
        body = _read_capped(response, host, max_bytes, rules)
        return None, body, response.headers.get("content-type", "")


def _redirect_target(current: str, host: str, location: str) -> str:
    with suppress(UnicodeError):  # http.client reads Latin-1; servers send UTF-8, as requests reads
        location = location.encode("latin-1").decode("utf-8")
    try:
        return urljoin(current, location)
    except ValueError as e:
        raise FetchError(
            "malformed URL", f"malformed redirect from {host} to {location[:100]!r} ({e})"
        ) from None


def _get(session, url: str, host: str, rules: guard.Rules) -> requests.Response:
    left = rules.remaining()
    try:
        return session.get(
            url,
            stream=True,
            allow_redirects=False,
            timeout=(min(left, CONNECT_TIMEOUT_CAP_S), left),
        )
    except requests.exceptions.ConnectTimeout:
        raise FetchError("timed out", f"timed out connecting to {host}") from None
    except requests.exceptions.ReadTimeout:
        raise rules.timed_out(host) from None
    except requests.exceptions.RetryError:
        raise FetchError("retries", f"gave up on {host} after repeated errors") from None
    except (requests.exceptions.InvalidURL, ValueError) as e:
        # check_url passed `url`: what requests could not parse is the redirect it read
        raise FetchError("malformed URL", f"malformed redirect from {host} ({e})") from None
    except requests.exceptions.RequestException as e:
        raise FetchError("connection", f"could not connect to {host} ({_root_cause(e)})") from None


def _read_capped(response, host: str, max_bytes: int, rules: guard.Rules) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError("too large", f"larger than {max_bytes} bytes ({declared} from {host})")
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(CHUNK):
            rules.check_time(host)  # the watchdog cuts a stalled read; this, a steady trickle
            size += len(chunk)
            if size > max_bytes:
                raise FetchError("too large", f"larger than {max_bytes} bytes (from {host})")
            chunks.append(chunk)
    except requests.exceptions.RequestException as e:
        if "timed out" in str(e).lower():
            raise rules.timed_out(host) from None
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
