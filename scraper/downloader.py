"""The downloader: guarded downloads in parallel, each checked and fingerprinted.

Candidates come from the search (scraper/search.py) on the main thread, which
drives the browser; `workers` threads fetch, decode and hand pictures to the
storage. Every failure is one skipped picture with one line saying why.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from selenium.common.exceptions import WebDriverException

from dataset.hashing import file_sha256, perceptual_hash, pixel_sha256
from dataset.imaging import ImageError, decode_image, describe_non_image, sniff_format
from scraper import http
from scraper.errors import Rejected, ScrapeError
from scraper.search import Candidate
from scraper.storage import Storage, short_url
from settings.errors import first_line
from settings.progress import bar, lifted


@dataclass(frozen=True)
class Limits:
    allow_hosts: tuple = ()
    max_bytes: int = 20_000_000
    min_side: int = 32
    download_timeout_s: float = 15.0
    host_delay_s: float = 0.5
    retry_after_cap_s: float = http.RETRY_AFTER_CAP_S
    user_agent: str = http.USER_AGENT
    allow_thumbnails: bool = False


@dataclass
class Picture:
    candidate: Candidate
    data: bytes
    sha256: str
    pixel_sha256: str
    phash: str
    width: int
    height: int
    format: str


def parse_data_uri(uri: str) -> bytes:
    """The bytes of a data: URI (thumbnails inline in the results page)."""
    header, sep, payload = uri.partition(",")
    if not sep:
        raise Rejected("bad data URI", "a data: URI without data")
    try:
        if header.endswith(";base64"):
            return base64.b64decode(payload, validate=False)
        return unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        raise Rejected("bad data URI", "a data: URI that is not valid base64") from None


class Downloader:
    """Fetch and check one candidate at a time, from any thread (one Session per thread)."""

    def __init__(self, limits: Limits, seconds, log):
        self.limits = limits
        self.seconds = seconds  # a Counter of phase -> seconds, shared with the report
        self.log = log
        self._lock = threading.Lock()
        self._local = threading.local()
        self.throttle = http.HostThrottle(limits.host_delay_s)

    def picture(self, candidate: Candidate) -> Picture:
        if candidate.url_source == "thumbnail" and not self.limits.allow_thumbnails:
            raise Rejected(
                "thumbnail only",
                "no full-size URL, only the thumbnail (scrape.allow_thumbnails is false)",
            )
        self._refuse_if_listed_small(candidate)
        return self.check(candidate, self.fetch(candidate))

    def _refuse_if_listed_small(self, candidate: Candidate) -> None:
        """The script data lists a picture's size: an icon is refused without a download."""
        listed = (candidate.width, candidate.height)
        if all(listed) and min(listed) < self.limits.min_side:
            raise Rejected(
                "too small",
                f"too small as listed ({listed[0]}x{listed[1]}; "
                f"scrape.min_side is {self.limits.min_side})",
            )

    def fetch(self, candidate: Candidate) -> bytes:
        if candidate.url.startswith("data:"):
            return parse_data_uri(candidate.url)
        started = time.perf_counter()
        try:
            data, content_type = http.fetch_bytes(
                self._session(), candidate.url, allow_hosts=self.limits.allow_hosts,
                max_bytes=self.limits.max_bytes, timeout=self.limits.download_timeout_s,
                throttle=self.throttle,
            )  # fmt: skip
        except http.FetchError as e:
            raise Rejected(e.kind, str(e)) from None
        except ScrapeError as e:
            raise Rejected("download failed", str(e)) from None
        finally:
            self._add_time("network", time.perf_counter() - started)
        if sniff_format(data) is None:  # the server's content type is reported, not trusted
            served = f" (served as {content_type.split(';')[0]})" if content_type else ""
            raise Rejected("not an image", describe_non_image(data) + served)
        return data

    def check(self, candidate: Candidate, data: bytes) -> Picture:
        started = time.perf_counter()
        try:
            rgb = decode_image(data, max_bytes=self.limits.max_bytes)
            height, width = rgb.shape[:2]
            if min(width, height) < self.limits.min_side:
                raise Rejected(
                    "too small",
                    f"too small ({width}x{height}; scrape.min_side is {self.limits.min_side})",
                )
            return Picture(
                candidate, data, file_sha256(data), pixel_sha256(rgb), perceptual_hash(rgb),
                width, height, sniff_format(data),
            )  # fmt: skip
        except ImageError as e:
            text = str(e)
            kind = "decompression bomb" if "bomb" in text else text.split(" (")[0]
            raise Rejected(kind, text) from None
        finally:
            self._add_time("decode", time.perf_counter() - started)

    def _session(self):
        if not hasattr(self._local, "session"):
            self._local.session = http.new_session(
                user_agent=self.limits.user_agent,
                retry_after_cap_s=self.limits.retry_after_cap_s,
                log=self.log,
            )
        return self._local.session

    def _add_time(self, phase: str, seconds: float) -> None:
        with self._lock:
            self.seconds[phase] += seconds


def download_all(candidates, downloader: Downloader, storage: Storage, report, workers: int):
    """Feed search results to `workers` download threads until the storage is full.

    A search that stops early (captcha, a crashed browser) ends in report.error
    after the downloads already queued finish: nothing fetched is lost. A progress
    bar (on a terminal) counts kept pictures against the limit, with found / kept /
    skipped beside it.
    """
    futures: dict[Future, Candidate] = {}
    found = 0
    shown = bar(desc=f"scrape: {storage.query[:30]}", total=storage.limit, initial=storage.count)

    def keep(candidate: Candidate):
        return storage.save(downloader.picture(candidate))

    def settle(done) -> None:
        for future in done:
            candidate = futures.pop(future)
            try:
                future.result()
            except Rejected as e:
                report.failures[e.kind] += 1
                with lifted(shown):
                    downloader.log(f"skip {short_url(candidate.url)[:160]}: {e}")
            except ScrapeError as e:  # the folder cannot take more (a full disk): stop
                report.error = report.error or str(e)
        shown.update(storage.count - shown.n)
        skipped = sum(report.failures.values())
        shown.set_postfix(found=found, kept=storage.count, skipped=skipped)

    with shown, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="download") as pool:
        try:
            while not storage.full() and report.error is None:
                candidate = _next(candidates, report)
                if candidate is None:
                    break
                found += 1
                if not storage.claim_url(candidate.url):
                    continue  # kept by an earlier run (data: URIs are checked by hash)
                futures[pool.submit(keep, candidate)] = candidate
                # Enough queued to keep every worker busy; more would only be wasted
                # browser clicks once the limit is reached.
                while len(futures) >= 2 * workers:
                    settle(wait(futures, return_when=FIRST_COMPLETED).done)
                settle([f for f in list(futures) if f.done()])
        except ScrapeError as e:
            report.error = str(e)
        except WebDriverException as e:  # the browser crashed or went away mid-search
            report.error = f"the browser failed during the search ({first_line(e)})"
        finally:
            candidates.close()
            settle(wait(list(futures)).done)


def _next(candidates, report) -> Candidate | None:
    started = time.perf_counter()
    try:
        return next(candidates, None)
    finally:
        report.seconds["browser"] += time.perf_counter() - started
