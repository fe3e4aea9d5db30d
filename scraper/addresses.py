"""Hosts and addresses as the guard compares them (scraper/guard.py): allow_hosts
entries, an address in its one spelling, whether it is public, and where requests will
connect for a URL. No network here."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from urllib3.util import parse_url

from scraper.errors import FetchError, ScrapeError

DEFAULT_PORTS = {"http": 80, "https": 443}
# "[::1]:8765", "[::1]", "host:8765", "host", or a bare IPv6 address (more than one colon)
_ENTRY = re.compile(
    r"\[(?P<v6>[0-9a-f:.]+)\](?::(?P<v6port>\d{1,5}))?"
    r"|(?P<host>[^\s:/\\\[\]@]+)(?::(?P<port>\d{1,5}))?"
    r"|(?P<bare>[0-9a-f]*:[0-9a-f:.]*:[0-9a-f:.]*)"
)


@dataclass(frozen=True)
class Allowed:
    """One allow_hosts entry: a host (name or address), on `port` only when one is given."""

    host: str
    port: int | None = None

    def matches(self, host: str, port: int) -> bool:
        return self.host == host and self.port in (None, port)


def parse_allowed(entries) -> tuple[Allowed, ...]:
    """allow_hosts entries as Allowed; ScrapeError naming an entry that is not host[:port]."""
    return tuple(_parse_entry(entry) for entry in entries)


def _parse_entry(entry) -> Allowed:
    found = _ENTRY.fullmatch(str(entry).strip().lower())
    port = found and (found["v6port"] or found["port"])
    if not found or (port and not 0 < int(port) < 65536):
        raise ScrapeError(f"allow_hosts entry {str(entry)[:80]!r} is not a host or host:port")
    return Allowed(host_key(found["v6"] or found["host"] or found["bare"]), int(port or 0) or None)


def host_key(host: str) -> str:
    """A host as compared with allow_hosts: lower case, an address in its one spelling."""
    host = host.strip("[]").lower()
    try:
        return str(address_of(host))
    except ValueError:
        return host


def address_of(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address from its text; ::ffff:127.0.0.1 is 127.0.0.1, a zone (%eth0) is dropped."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


def not_public(address) -> str | None:
    """Why an address is off limits ("loopback", "private"...), or None when global."""
    for kind in ("loopback", "unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-global"


def connect_target(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) that requests will connect to for `url`; FetchError if none."""
    try:
        split = urlsplit(url)
        split.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError as e:  # e.g. http://[::1/x: "Invalid IPv6 URL"
        raise malformed(url, e) from None
    if split.scheme not in DEFAULT_PORTS:
        raise FetchError(
            "refused", f"refused {split.scheme or 'relative'}: URL (only http and https)"
        )
    if not split.hostname:
        raise FetchError("refused", f"refused URL without a host: {one_line(url[:100])}")
    try:
        prepared = requests.PreparedRequest()
        prepared.prepare_url(url, None)
        parts = parse_url(prepared.url)
    except (requests.exceptions.RequestException, ValueError) as e:
        raise malformed(url, e) from None
    if not parts.host:
        raise FetchError("refused", f"refused URL without a host: {one_line(url[:100])}")
    return split.scheme, host_key(parts.host), parts.port or DEFAULT_PORTS[split.scheme]


def malformed(url: str, error: Exception) -> FetchError:
    return FetchError("malformed URL", f"malformed URL {url[:100]!r} ({one_line(error)})")


def one_line(value) -> str:
    lines = str(value).splitlines()
    return lines[0][:160] if lines else type(value).__name__
