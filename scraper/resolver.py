"""Name resolution that a stalled name server cannot monopolise.

The system resolver cannot be interrupted, so a fetch with a deadline resolves on a
helper thread and stops waiting when its time is up (scraper/guard.py); the thread
lives on until the resolver's own timeout (3 s here, 30 s and more elsewhere).
A fixed pool of such threads is a shared resource a stranger can fill: eight names
whose name server answers once and then goes silent held all eight threads of the
old pool, and every other visitor's fetch queued behind them until it timed out.

Here a lookup gets a thread of its own, never a place in a queue, within limits that
only the stalled names meet:
- a name already being looked up is not looked up again: the second ask shares the
  first one's answer;
- at most PER_SITE lookups at a time under one site (a name's last two labels,
  e.g. every *.evil.example together), and MAX_PENDING in all; past either, an ask
  fails at once (a `socket.gaierror`, EAI_AGAIN) instead of waiting for a thread.
So a name server that stalls holds PER_SITE threads and its own site's fetches;
everybody else's names resolve as before.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from concurrent.futures import Future

PER_SITE = 2
MAX_PENDING = 64


def getaddrinfo(host: str, port: int | None) -> list:
    """socket.getaddrinfo for a stream socket."""
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def site_of(host: str) -> str:
    """The last two labels of a name (an address is its own site)."""
    labels = host.rstrip(".").lower().split(".")
    return ".".join(labels[-2:])


class Resolver:
    def __init__(self, per_site: int = PER_SITE, max_pending: int = MAX_PENDING):
        self.per_site, self.max_pending = per_site, max_pending
        self._pending: dict[tuple[str, int | None], Future] = {}
        self._sites: Counter = Counter()
        self._lock = threading.Lock()

    def resolve(self, host: str, port: int | None) -> Future:
        """A future of getaddrinfo(host, port): shared with a lookup of the same name
        still running, or failed at once when its site or the whole resolver is full."""
        key, site = (host, port), site_of(host)
        with self._lock:
            if key in self._pending:
                return self._pending[key]
            busy = self._sites[site] >= self.per_site or len(self._pending) >= self.max_pending
            future: Future = Future()
            if busy:
                future.set_exception(
                    socket.gaierror(
                        socket.EAI_AGAIN, f"name servers of {site} are not answering in time"
                    )
                )
                return future
            self._pending[key] = future
            self._sites[site] += 1
        thread = threading.Thread(
            target=self._run, args=(key, site, future), daemon=True, name="resolve"
        )
        thread.start()
        return future

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def _run(self, key: tuple[str, int | None], site: str, future: Future) -> None:
        try:
            result = getaddrinfo(*key)
        except BaseException as e:  # noqa: BLE001 - handed to whoever waits
            outcome = e
        else:
            outcome = None
        with self._lock:
            del self._pending[key]
            self._sites[site] -= 1
            if not self._sites[site]:
                del self._sites[site]
        if outcome is None:
            future.set_result(result)
        else:
            future.set_exception(outcome)


RESOLVER = Resolver()
