"""Politeness towards the search engine: jittered pauses between clicks and between queries.

A fixed rhythm is what bot detection looks for, and a burst of clicks is what a
shared search engine least wants; each pause is drawn between half and one and a
half times its setting (scrape.click_pause_s, scrape.query_pause_s).
"""

from __future__ import annotations

import random
import threading
import time

JITTER = (0.5, 1.5)

# Queries of one process share the clock: the pause is between any two searches,
# whichever run or browser makes them (a benchmark or a test runs several).
_last_query = {"at": None}
_lock = threading.Lock()


class Pacer:
    def __init__(self, click_pause_s: float = 0.0, query_pause_s: float = 0.0, *, seed=None):
        self.click_pause_s = click_pause_s
        self.query_pause_s = query_pause_s
        self.random = random.Random(seed)
        self.slept_s = 0.0

    def jittered(self, seconds: float) -> float:
        return seconds * self.random.uniform(*JITTER) if seconds > 0 else 0.0

    def between_clicks(self) -> None:
        self._sleep(self.jittered(self.click_pause_s))

    def before_query(self) -> None:
        """Wait until a jittered query pause has passed since this process's last search."""
        with _lock:
            last = _last_query["at"]
            wait = 0.0
            if last is not None:
                wait = max(0.0, last + self.jittered(self.query_pause_s) - time.monotonic())
            _last_query["at"] = time.monotonic() + wait
        self._sleep(wait)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
            self.slept_s += seconds
