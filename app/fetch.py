"""The URL input: fetch the bytes behind an image address through scraper.http (every
redirect hop re-checked against private addresses). No Streamlit here."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from app import config, messages


class FetchError(ValueError):
    """An image URL could not be fetched; the message is one plain sentence."""


def fetch_url(url: str, *, allow_hosts=(), max_bytes: int, timeout: float) -> bytes:
    """The bytes behind an image URL. The server's content type is not trusted: the
    decoder sniffs the bytes themselves. Raises FetchError with one plain sentence."""
    words = {"max_mb": max_bytes / config.MB, "timeout": timeout}
    url = url.strip()
    if not url:
        raise FetchError(messages.fetch_problem("empty", **words))
    import requests

    from scraper import http
    from scraper.errors import ScrapeError

    try:
        # fetch_bytes checks the URL before any request, resolving its name within the
        # deadline (a check out here waited for a silent name server as long as it liked)
        session = http.new_session(retries=1, backoff=0.2)  # a person is waiting
        try:
            data, _content_type = http.fetch_bytes(
                session, url, allow_hosts=tuple(allow_hosts), max_bytes=max_bytes, timeout=timeout
            )
        finally:
            session.close()
    except ScrapeError as e:
        raise FetchError(messages.fetch_problem(problem_kind(e), **words)) from None
    except (requests.RequestException, OSError, ValueError):
        raise FetchError(messages.fetch_problem("connection", **words)) from None
    return data


# scraper.guard's refusals of an address that is not public: "refused HOST: it resolves
# to loopback address 127.0.0.1", "... connected to private address 10.0.0.2 port 80"
# (the kinds of scraper.addresses.not_public)
NOT_PUBLIC = re.compile(r"^refused \S+: (it resolves|connected) to [\w-]+ address ")


def problem_kind(error) -> str:
    """messages.fetch_problem's kind for a ScrapeError: its own, except that a refused
    address that is local or private is told apart from a refused scheme or form."""
    kind = getattr(error, "kind", "connection")
    if kind == "refused" and NOT_PUBLIC.match(str(error)):
        return "private"
    return kind


def url_name(url: str) -> str:
    """A short name for a URL's picture: its file name, else the host."""
    parts = urlsplit(url.strip())
    tail = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    return (tail or parts.hostname or url)[:80]


def plain_url(url: str) -> str:
    """The URL as inline code for st.markdown: shown as text, never turned into a link."""
    return "`" + url[:200].replace("`", "'") + "`"
