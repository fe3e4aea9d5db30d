"""Politeness towards the search engine: jittered pauses between clicks and between queries.

A fixed rhythm is what bot detection looks for, and a burst of clicks is what a
shared search engine least wants; each pause is drawn between half and one and a
half times its setting (scrape.click_pause_s, scrape.query_pause_s).

The pause between queries spans processes: each keyword is its own DVC stage
(its own process), so the time of the last search is kept in a small file.
"""

from __future__ import annotations

import contextlib
import random
import tempfile
import threading
import time
from pathlib import Path

JITTER = (0.5, 1.5)
LAST_SEARCH_FILE = Path(tempfile.gettempdir()) / "realorai-last-search"

_lock = threading.Lock()  # searches of one process's threads, one at a time


class Pacer:
    def __init__(
        self,
        click_pause_s: float = 0.0,
        query_pause_s: float = 0.0,
        *,
        seed=None,
        clock_file: Path | None = LAST_SEARCH_FILE,
    ):
        self.click_pause_s = click_pause_s
        self.query_pause_s = query_pause_s
        self.random = random.Random(seed)
        self.clock_file = clock_file
        self.slept_s = 0.0

    def jittered(self, seconds: float) -> float:
        return seconds * self.random.uniform(*JITTER) if seconds > 0 else 0.0

    def between_clicks(self) -> None:
        self._sleep(self.jittered(self.click_pause_s))

    def before_query(self) -> None:
        """Wait until a jittered query pause has passed since the last search on this machine."""
        with _lock:
            last = self._last_search()
            wait = 0.0
            if last is not None:
                wait = max(0.0, last + self.jittered(self.query_pause_s) - time.time())
            self._record_search(time.time() + wait)
        self._sleep(wait)

    def _last_search(self) -> float | None:
        try:
            return float(self.clock_file.read_text()) if self.clock_file else None
        except (OSError, ValueError):  # no search yet, or a file we cannot use: no wait
            return None

    def _record_search(self, when: float) -> None:
        if self.clock_file is None:
            return
        with contextlib.suppress(OSError):  # politeness is best effort; the search goes on
            self.clock_file.write_text(f"{when:.3f}")

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
            self.slept_s += seconds
