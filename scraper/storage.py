"""The storage: one keyword's output folder behind one interface.

What the folder holds, the duplicate checks against it, and saving a picture with
its manifest line. The folder's format (file names, manifest, resume) belongs to
dataset/scraped.py, which the merge stage reads with; writes go through
dataset/atomic.py, so a killed run leaves whole files only.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from dataset import scraped
from dataset.atomic import write_bytes
from dataset.errors import DatasetError
from dataset.hashing import NearDuplicateIndex
from scraper.errors import Rejected, ScrapeError

NEAR_DUPLICATE_DISTANCE = 4  # pHash bits; the merge stage's default (merge.near_duplicate_distance)


def short_url(url: str) -> str:
    """URLs as stored and printed: data: URIs cut to their header."""
    if url.startswith("data:"):
        return url.split(",", 1)[0] + ",…"
    return url


class Storage:
    """One query's folder: resumed on open, filled by `save` from any download thread."""

    def __init__(self, folder: Path | str, query: str, label: str, limit: int):
        self.folder, self.query, self.label, self.limit = Path(folder), query, label, limit
        records, self.dropped = scraped.reconcile(self.folder, query, label, limit)
        self.count = len(records)
        self.new = 0
        self.new_by_source: Counter = Counter()
        self.seconds_write = 0.0  # file, manifest line and their fsyncs, under the lock
        self.urls = {r.get("image_url") for r in records}
        self._sha = {r.get("sha256") for r in records}
        self._pixels = {r.get("pixel_sha256") for r in records}
        self._near = NearDuplicateIndex(NEAR_DUPLICATE_DISTANCE)
        for r in records:
            if r.get("phash"):
                self._near.add(r["phash"], r["file"])
        self._lock = threading.Lock()

    def full(self) -> bool:
        with self._lock:
            return self.count >= self.limit

    def claim_url(self, url: str) -> bool:
        """False if this URL is already kept or being fetched (a rerun skips it undownloaded)."""
        with self._lock:
            if url in self.urls:
                return False
            self.urls.add(url)
            return True

    def save(self, picture) -> str | None:
        """Write the file, then its manifest line; None once the limit is reached.

        Raises Rejected for a duplicate (same bytes, same pixels, or a near duplicate).
        """
        name = scraped.saved_name(picture.sha256, picture.format)
        with self._lock:  # one writer: duplicate checks and the limit see every save
            if self.count >= self.limit:
                return None
            self._refuse_duplicate(picture)
            started = time.perf_counter()
            self._write(name, picture)
            self.seconds_write += time.perf_counter() - started
            self.count += 1
            self.new += 1
            self.new_by_source[picture.candidate.url_source] += 1
            self._sha.add(picture.sha256)
            self._pixels.add(picture.pixel_sha256)
            self._near.add(picture.phash, name)
            return name

    def _write(self, name: str, picture) -> None:
        """The file, then its line; ScrapeError (one line) when the disk refuses either,
        with the file removed again: the folder stays as it was before this picture."""
        try:
            write_bytes(self.folder / name, picture.data, durable=True)
            scraped.append_record(self.folder, self._record(picture, name))
        except (OSError, DatasetError) as e:
            with contextlib.suppress(OSError):
                (self.folder / name).unlink()
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            raise ScrapeError(f"cannot save pictures in {self.folder}: {reason}") from None

    def _refuse_duplicate(self, picture) -> None:
        if picture.sha256 in self._sha or picture.pixel_sha256 in self._pixels:
            raise Rejected("duplicate", "duplicate of a picture already kept")
        if near := self._near.nearest(picture.phash):
            raise Rejected("near duplicate", f"near duplicate of {near[0]} ({near[1]} bits)")

    def _record(self, picture, name: str) -> dict:
        candidate = picture.candidate
        return {
            "file": name,
            "query": self.query,
            "label": self.label,
            "page_url": candidate.page_url,  # the page the picture is on
            "image_url": short_url(candidate.url),
            "url_source": candidate.url_source,  # script | preview | thumbnail
            "results_url": candidate.results_url,  # the search results page
            "sha256": picture.sha256,
            "pixel_sha256": picture.pixel_sha256,
            "phash": picture.phash,
            "width": picture.width,
            "height": picture.height,
            "listed_width": candidate.width,  # as the script data listed it (else null)
            "listed_height": candidate.height,
            "format": picture.format,
            "bytes": len(picture.data),
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "status": "ok",
        }
