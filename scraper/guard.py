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
  (scraper/connections.py's `GuardedAdapter`; each redirect hop, retry and kept-alive
  reuse) is checked by the address it actually reached (`getpeername`) before a byte
  is sent. No reading of the URL, and no DNS answer that changes between the check
  and the connection (rebinding), gets past it.
- `allow_hosts` names the exceptions (the offline stand-in): "127.0.0.1" or
  "localhost" on any port, "127.0.0.1:8765" or "[::1]:8765" on that port only. At
  the socket an entry matches the peer's address (a name through the addresses it
  resolves to) and port.
- A fetch has one deadline over connecting, headers, retries, redirects and body: a
  watchdog shuts its sockets down when the time is up, since a socket timeout bounds
  only each read (a byte a second, endless `100 Continue` lines or a trickled body
  would otherwise hold it for ever). Name resolution counts too: the system resolver
  cannot be interrupted, so it runs on a helper thread and the fetch stops waiting
  for it when the time is up (scraper/resolver.py: a stalled name server holds a few
  threads of its own, never the other fetches' lookups).

Hosts, addresses and allow_hosts entries are read in scraper/addresses.py.

`fetching(allow_hosts, timeout)` sets these rules for the calling thread; a guarded
session used outside it exempts no host and has no deadline.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from concurrent.futures import TimeoutError as ResolveTimeout
from contextlib import contextmanager, suppress
from contextvars import ContextVar

from scraper.addresses import (  # noqa: F401 - the guard's vocabulary, named here too
    Allowed,
    address_of,
    connect_target,
    not_public,
    one_line,
    parse_allowed,
)
from scraper.errors import FetchError
from scraper.resolver import RESOLVER, getaddrinfo


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
        raise FetchError("connection", f"could not resolve host {host} ({one_line(e)})") from None
    for info in infos:
        address = address_of(info[4][0])
        if why := not_public(address):
            raise FetchError("refused", f"refused {host}: it resolves to {why} address {address}")
    return host


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
        address = address_of(peer[0])
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
                found = frozenset({address_of(host)})
            except ValueError:  # a name: the addresses it resolves to now
                try:
                    infos = self.resolve(host, None)
                except (OSError, ValueError):
                    infos = []
                found = frozenset(address_of(info[4][0]) for info in infos)
            self._addresses[host] = found
        return self._addresses[host]

    # --- how long: the deadline ---

    def resolve(self, host: str, port: int | None) -> list:
        """socket.getaddrinfo for a stream socket, within what is left of the deadline
        (FetchError "timed out" past it). The time it takes is spent from the deadline."""
        if self.timeout is None:
            return getaddrinfo(host, port)
        self.check_time(host)
        on_clock = self._clock_started is not None  # else spend the time here
        began = time.monotonic()
        try:
            return RESOLVER.resolve(host, port).result(self.remaining())
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
