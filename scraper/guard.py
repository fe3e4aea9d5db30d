"""Where a download may connect, and for how long: the SSRF guard and the deadline.

Image URLs come from search results, i.e. from strangers, and the app's URL box
takes them from anyone. A fetch must not read http://169.254.169.254/ or a service
on this machine or its network, and no server may hold it for ever.

- `check_url` refuses, before each request and redirect hop, non-http(s) URLs and
  hosts that resolve to loopback, private, link-local, multicast or reserved
  addresses. It reads the host as requests will connect to it (a backslash ends the
  host there, not in urllib.parse), but it is only the first refusal, the one with
  the clearest reason.
- The guarantee is at the socket: every connection of a guarded session
  (`GuardedAdapter`; each redirect hop, retry and kept-alive reuse) is checked by the
  address it actually reached (`getpeername`) before a byte is sent. No reading of
  the URL, and no DNS answer that changes between the check and the connection
  (rebinding), gets past it.
- `allow_hosts` names the exceptions (the offline stand-in): "127.0.0.1" or
  "localhost" on any port, "127.0.0.1:8765" or "[::1]:8765" on that port only. At
  the socket an entry matches the peer's address (a name through the addresses it
  resolves to) and port.
- A fetch has one deadline over connecting, headers, retries, redirects and body: a
  watchdog shuts its sockets down when the time is up, since a socket timeout bounds
  only each read (a byte a second, endless `100 Continue` lines or a trickled body
  would otherwise hold it for ever). Name resolution counts too: the system resolver
  cannot be interrupted, so it runs on a helper thread and the fetch stops waiting
  for it when the time is up.

`fetching(allow_hosts, timeout)` sets these rules for the calling thread; a guarded
session used outside it exempts no host and has no deadline.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as ResolveTimeout
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError
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
    return Allowed(_host_key(found["v6"] or found["host"] or found["bare"]), int(port or 0) or None)


def _host_key(host: str) -> str:
    """A host as compared with allow_hosts: lower case, an address in its one spelling."""
    host = host.strip("[]").lower()
    try:
        return str(_address(host))
    except ValueError:
        return host


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
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
        raise _malformed(url, e) from None
    if split.scheme not in DEFAULT_PORTS:
        raise FetchError(
            "refused", f"refused {split.scheme or 'relative'}: URL (only http and https)"
        )
    if not split.hostname:
        raise FetchError("refused", f"refused URL without a host: {_one_line(url[:100])}")
    try:
        prepared = requests.PreparedRequest()
        prepared.prepare_url(url, None)
        parts = parse_url(prepared.url)
    except (requests.exceptions.RequestException, ValueError) as e:
        raise _malformed(url, e) from None
    if not parts.host:
        raise FetchError("refused", f"refused URL without a host: {_one_line(url[:100])}")
    return split.scheme, _host_key(parts.host), parts.port or DEFAULT_PORTS[split.scheme]


def check_url(url: str, allow_hosts=()) -> str:
    """The host of `url`; FetchError unless it is http(s) to an allowed host or to one
    with only global addresses. The first refusal: the socket check is the guarantee.
    Inside `fetching`, the name is resolved within the fetch's deadline."""
    _, host, port = connect_target(url)
    if any(entry.matches(host, port) for entry in parse_allowed(allow_hosts)):
        return host
    try:
        infos = current().resolve(host, port)
    except (OSError, ValueError) as e:  # gaierror; an IDNA or NUL problem
        raise FetchError("connection", f"could not resolve host {host} ({_one_line(e)})") from None
    for info in infos:
        address = _address(info[4][0])
        if why := not_public(address):
            raise FetchError("refused", f"refused {host}: it resolves to {why} address {address}")
    return host


def _malformed(url: str, error: Exception) -> FetchError:
    return FetchError("malformed URL", f"malformed URL {url[:100]!r} ({_one_line(error)})")


def _one_line(value) -> str:
    lines = str(value).splitlines()
    return lines[0][:160] if lines else type(value).__name__


class Rules:
    """One fetch's rules, for the thread that runs it: the allowed hosts and the deadline."""

    def __init__(self, allow_hosts=(), timeout: float | None = None):
        self.allowed = parse_allowed(allow_hosts)
        self.timeout = timeout
        self.left = math.inf if timeout is None else timeout  # deadline not yet spent
        self.expired = False
        self._clock_started: float | None = None
        self._handles: list[socket.socket] = []  # the watchdog's way in to this fetch's sockets
        self._lock = threading.Lock()  # the watchdog runs in a thread of its own
        self._addresses: dict[str, frozenset] = {}

    # --- where: the peer of each connection ---

    def check_peer(self, sock: socket.socket, host: str) -> None:
        """FetchError "refused" unless the socket reached a global or an allowed address."""
        try:
            peer = sock.getpeername()
        except OSError as e:
            raise FetchError("connection", f"could not connect to {host} ({e})") from None
        address = _address(peer[0])
        why = not_public(address)
        if why and not self._exempt(address, peer[1]):
            raise FetchError(
                "refused", f"refused {host}: connected to {why} address {address} port {peer[1]}"
            )

    def _exempt(self, address, port: int) -> bool:
        return any(
            entry.port in (None, port) and address in self._addresses_of(entry.host)
            for entry in self.allowed
        )

    def _addresses_of(self, host: str) -> frozenset:
        if host not in self._addresses:
            try:
                found = frozenset({_address(host)})
            except ValueError:  # a name: the addresses it resolves to now
                try:
                    infos = self.resolve(host, None)
                except (OSError, ValueError):
                    infos = []
                found = frozenset(_address(info[4][0]) for info in infos)
            self._addresses[host] = found
        return self._addresses[host]

    # --- how long: the deadline ---

    def resolve(self, host: str, port: int | None) -> list:
        """socket.getaddrinfo for a stream socket, within what is left of the deadline
        (FetchError "timed out" past it). The time it takes is spent from the deadline."""
        if self.timeout is None:
            return _getaddrinfo(host, port)
        self.check_time(host)
        on_clock = self._clock_started is not None  # else spend the time here
        began = time.monotonic()
        try:
            return _RESOLVER.submit(_getaddrinfo, host, port).result(self.remaining())
        except ResolveTimeout:
            self.expired = True
            raise self.timed_out(host) from None
        finally:
            if not on_clock:
                self.left = max(0.0, self.left - (time.monotonic() - began))

    def remaining(self) -> float:
        running = self._clock_started
        spent = 0.0 if running is None else time.monotonic() - running
        return max(0.0, self.left - spent)

    def check_time(self, host: str) -> None:
        if self.expired or self.remaining() <= 0:
            raise self.timed_out(host)

    def timed_out(self, host: str) -> FetchError:
        return FetchError("timed out", f"timed out after {self.timeout:g} s waiting for {host}")

    def watch(self, sock: socket.socket) -> None:
        """Let the watchdog cut this socket's connection when the deadline passes.

        Through a duplicate of its descriptor, held until the clock stops: http.client
        drops a closing connection's socket to its response, and TLS takes over the
        socket object while the descriptor stays; shutting down the duplicate ends the
        connection under all of them.
        """
        if self.timeout is None:
            return
        handle = socket.socket(fileno=os.dup(sock.fileno()))
        with self._lock:
            self._handles.append(handle)
            late = self.expired
        if late:
            _cut(handle)

    @contextmanager
    def on_clock(self, host: str):
        """Spend the deadline inside the block. When it runs out, the block's sockets are
        shut down and the block ends in one "timed out" FetchError, whatever it was doing."""
        if self.timeout is None:
            yield
            return
        self.check_time(host)
        self._clock_started = time.monotonic()
        watchdog = threading.Timer(self.left, self._expire)
        watchdog.daemon = True
        watchdog.start()
        try:
            yield
        except Exception:
            if self.expired:  # what broke was the watchdog's doing
                raise self.timed_out(host) from None
            raise
        finally:
            watchdog.cancel()
            self.left = self.remaining()
            self._clock_started = None
            self.release()
        if self.expired:  # a body cut short by the watchdog can look complete
            raise self.timed_out(host)

    def release(self) -> None:
        """Close the watchdog's duplicates (the connections live on in their pool)."""
        with self._lock:
            handles, self._handles = self._handles, []
        for handle in handles:
            handle.close()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for handle in self._handles:
                _cut(handle)


def _getaddrinfo(host: str, port: int | None) -> list:
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


# Resolutions the deadline gave up on finish here, in the background, when the system
# resolver does (its own timeouts); a few threads are enough for the scraper's workers.
_RESOLVER = ThreadPoolExecutor(max_workers=8, thread_name_prefix="resolve")


def _cut(handle: socket.socket) -> None:
    with suppress(OSError):  # the connection is already gone
        handle.shutdown(socket.SHUT_RDWR)


_CURRENT: ContextVar[Rules | None] = ContextVar("scraper_guard_rules", default=None)
_STRICT = Rules()  # outside `fetching`: no exemption, no deadline


def current() -> Rules:
    return _CURRENT.get() or _STRICT


@contextmanager
def fetching(allow_hosts=(), timeout: float | None = None):
    """Rules for the guarded connections this thread makes inside the block."""
    rules = Rules(allow_hosts, timeout)
    token = _CURRENT.set(rules)
    try:
        yield rules
    finally:
        _CURRENT.reset(token)
        rules.release()


class _PeerChecked:
    """A urllib3 connection whose socket is checked by its peer before a byte is sent,
    new or kept alive, and handed to the fetch's watchdog."""

    def _new_conn(self) -> socket.socket:
        rules = current()
        rules.check_time(self.host)
        sock = self._connect_in_time(rules)
        try:
            rules.check_peer(sock, self.host)
            rules.watch(sock)
        except BaseException:
            sock.close()
            raise
        return sock

    def _connect_in_time(self, rules: Rules) -> socket.socket:
        """urllib3's connection, to addresses resolved within the deadline.

        urllib3 would resolve the name itself, beyond the watchdog's reach; here it is
        given each resolved address in turn instead (self.host, which TLS checks the
        certificate against, is the name again afterwards)."""
        name = self._dns_host
        try:
            _address(name.strip("[]"))
            literal = True  # an address: nothing to resolve
        except ValueError:
            literal = False
        if literal or rules.timeout is None:
            return super()._new_conn()
        try:
            infos = rules.resolve(name, self.port)
        except socket.gaierror as e:  # as urllib3 reports it, without resolving again
            raise NameResolutionError(self.host, self, e) from e
        except ValueError:  # an unencodable name: urllib3 refuses it before resolving
            return super()._new_conn()
        error: Exception | None = None
        for address in dict.fromkeys(info[4][0] for info in infos):
            self._dns_host = address
            try:
                return super()._new_conn()
            except Exception as e:  # noqa: BLE001 - urllib3's connection errors: try the next
                error = e
            finally:
                self._dns_host = name
        raise error or OSError(f"no address for {name}")

    def request(self, *args, **kwargs):
        if self.sock is not None:  # kept alive from an earlier request: this fetch's rules
            rules = current()
            rules.check_time(self.host)
            rules.check_peer(self.sock, self.host)
            rules.watch(self.sock)
        return super().request(*args, **kwargs)


class _GuardedHTTPConnection(_PeerChecked, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_PeerChecked, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """requests' HTTPAdapter whose connections are checked at the socket (module docstring)."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        raise FetchError("refused", "refused a proxy: the address it reaches cannot be checked")
