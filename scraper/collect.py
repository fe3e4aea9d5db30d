"""One scrape run: search, download in parallel, check, deduplicate, save, resume.

The output folder holds `<sha256[:16]>.<ext>` files (the bytes as downloaded) and
`manifest.jsonl`, one JSON line per file. A file is written under a temporary
name and renamed into place before its manifest line is appended, so after a
crash (or SIGKILL) `reconcile` only has to drop what no line describes.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote_to_bytes

from selenium.common.exceptions import WebDriverException

from dataset.hashing import NearDuplicateIndex, file_sha256, perceptual_hash, pixel_sha256
from dataset.imaging import ImageError, decode_image, describe_non_image, sniff_format
from scraper import http
from scraper.errors import ScrapeError
from scraper.search import Candidate, SearchStats, iter_candidates

MANIFEST = "manifest.jsonl"
NEAR_DUPLICATE_DISTANCE = 4  # pHash bits; the merge stage's default (merge.near_duplicate_distance)
EXTENSIONS = {
    "JPEG": "jpg",
    "PNG": "png",
    "WEBP": "webp",
    "GIF": "gif",
    "BMP": "bmp",
    "TIFF": "tif",
}
SAVED_NAME = re.compile(r"^[0-9a-f]{16}\.(jpg|png|webp|gif|bmp|tif)$")
TEMP_SUFFIX = ".part"


@dataclass
class Report:
    """What a run did: counts, why pictures were skipped, and where the time went."""

    query: str
    label: str
    out_dir: Path
    limit: int
    kept: int = 0  # files in the folder at the end
    new: int = 0  # saved by this run
    dropped: int = 0  # records removed at start (changed query/label, missing files)
    failures: Counter = field(default_factory=Counter)
    seconds: Counter = field(default_factory=Counter)  # browser, network, decode, write, total
    search: SearchStats = field(default_factory=SearchStats)
    error: str | None = None  # why the search stopped early (captcha, no results...)

    def summary(self) -> str:
        skipped = ", ".join(f"{k} x{n}" for k, n in self.failures.most_common()) or "none"
        times = ", ".join(f"{k} {self.seconds[k]:.1f}s" for k in ("browser", "network", "decode"))
        return (
            f"{self.kept}/{self.limit} images for '{self.query}' ({self.label}) in {self.out_dir} "
            f"({self.new} new); skipped: {skipped}; {times}; total {self.seconds['total']:.1f}s"
        )


class Rejected(Exception):
    """A candidate is not kept; `kind` is its counting category, the message one line."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


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


# --- the folder: reconcile on start, atomic writes ---


def read_manifest(out_dir: Path) -> list[dict]:
    """The manifest's records; a torn last line (a killed append) is ignored."""
    path = Path(out_dir) / MANIFEST
    records = []
    if not path.is_file():
        return records
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("file"), str):
            records.append(record)
    return records


def reconcile(out_dir: Path, query: str, label: str, limit: int | None = None) -> tuple[list, int]:
    """Make folder and manifest agree, for this query and label only.

    Drops records whose file is missing or altered and records of another query or
    label (their files too: the stage's output must reflect the current keyword),
    deletes temporary files and picture files no record describes, and keeps at
    most `limit` records. Returns (records kept, records dropped).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = read_manifest(out_dir)
    kept, names = [], set()
    for record in records:
        name = record["file"]
        path = out_dir / name
        if (
            record.get("query") != query
            or record.get("label") != label
            or name in names
            or not SAVED_NAME.match(name)
            or not path.is_file()
            or file_sha256(path.read_bytes()) != record.get("sha256")
            or (limit is not None and len(kept) >= limit)
        ):
            continue
        kept.append(record)
        names.add(name)
    for path in out_dir.iterdir():
        stray = path.name.endswith(TEMP_SUFFIX) or (
            SAVED_NAME.match(path.name) and path.name not in names
        )
        if stray and path.is_file():
            path.unlink()
    if len(kept) != len(records) or not (out_dir / MANIFEST).is_file():
        _write_atomic(out_dir / MANIFEST, b"".join(_line(r) for r in kept))
    return kept, len(records) - len(kept)


def _line(record: dict) -> bytes:
    return (json.dumps(record, sort_keys=False) + "\n").encode()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name in the same folder, fsync, then rename over `path`."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}{TEMP_SUFFIX}")
    with open(temp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename itself survives a power cut
    finally:
        os.close(fd)


def _append_line(path: Path, record: dict) -> None:
    with open(path, "ab") as f:
        f.write(_line(record))
        f.flush()
        os.fsync(f.fileno())


# --- one candidate: fetch, check, fingerprint ---


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


def short_url(url: str) -> str:
    """URLs as stored and printed: data: URIs cut to their header."""
    if url.startswith("data:"):
        return url.split(",", 1)[0] + ",…"
    return url


class Collector:
    """The state one run shares between its download threads."""

    def __init__(self, report: Report, records: list[dict], *, settings: dict):
        self.report = report
        self.settings = settings
        self.out_dir = report.out_dir
        self.lock = threading.Lock()
        self.count = len(records)
        self.urls = {r.get("image_url") for r in records}
        self.sha = {r.get("sha256") for r in records}
        self.pixels = {r.get("pixel_sha256") for r in records}
        self.near = NearDuplicateIndex(NEAR_DUPLICATE_DISTANCE)
        for r in records:
            if r.get("phash"):
                self.near.add(r["phash"], r["file"])
        self.local = threading.local()  # one requests.Session per thread
        self.throttle = http.HostThrottle(settings["host_delay_s"])

    def full(self) -> bool:
        with self.lock:
            return self.count >= self.report.limit

    def _session(self):
        if not hasattr(self.local, "session"):
            self.local.session = http.new_session()
        return self.local.session

    def process(self, candidate: Candidate) -> str | None:
        """Fetch, check and save one candidate; the file name, or raise Rejected."""
        data = self.fetch(candidate)
        picture = self.check(candidate, data)
        return self.save(picture)

    def fetch(self, candidate: Candidate) -> bytes:
        if candidate.url.startswith("data:"):
            return parse_data_uri(candidate.url)
        started = time.perf_counter()
        try:
            data, content_type = http.fetch_bytes(
                self._session(),
                candidate.url,
                allow_hosts=self.settings["allow_hosts"],
                max_bytes=self.settings["max_bytes"],
                timeout=self.settings["download_timeout_s"],
                throttle=self.throttle,
            )
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
            rgb = decode_image(data, max_bytes=self.settings["max_bytes"])
            height, width = rgb.shape[:2]
            if min(width, height) < self.settings["min_side"]:
                raise Rejected(
                    "too small",
                    f"too small ({width}x{height}; scrape.min_side is {self.settings['min_side']})",
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

    def save(self, picture: Picture) -> str | None:
        """Write the file and its manifest line, unless a duplicate or the limit is reached."""
        name = f"{picture.sha256[:16]}.{EXTENSIONS[picture.format]}"
        with self.lock:  # one writer: duplicate checks and the limit see every save
            if self.count >= self.report.limit:
                return None
            if picture.sha256 in self.sha or picture.pixel_sha256 in self.pixels:
                raise Rejected("duplicate", "duplicate of a picture already kept")
            if near := self.near.nearest(picture.phash):
                raise Rejected("near duplicate", f"near duplicate of {near[0]} ({near[1]} bits)")
            started = time.perf_counter()
            _write_atomic(self.out_dir / name, picture.data)
            _append_line(self.out_dir / MANIFEST, self.record(picture, name))
            self.report.seconds["write"] += time.perf_counter() - started
            self.count += 1
            self.report.new += 1
            self.sha.add(picture.sha256)
            self.pixels.add(picture.pixel_sha256)
            self.near.add(picture.phash, name)
            return name

    def record(self, picture: Picture, name: str) -> dict:
        candidate = picture.candidate
        return {
            "file": name,
            "query": self.report.query,
            "label": self.report.label,
            "page_url": candidate.page_url,
            "image_url": short_url(candidate.url),
            "sha256": picture.sha256,
            "pixel_sha256": picture.pixel_sha256,
            "phash": picture.phash,
            "width": picture.width,
            "height": picture.height,
            "format": picture.format,
            "bytes": len(picture.data),
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "status": "ok",
        }

    def _add_time(self, phase: str, seconds: float) -> None:
        with self.lock:
            self.report.seconds[phase] += seconds


def collect(
    query: str,
    label: str,
    out_dir: Path | str,
    *,
    limit: int,
    workers: int = 4,
    search_url: str = "https://www.google.com/search",
    webdriver_url: str | None = None,
    allow_hosts=(),
    max_scroll_rounds: int = 30,
    page_timeout_s: float = 20.0,
    download_timeout_s: float = 15.0,
    host_delay_s: float = 0.5,
    max_bytes: int = 20_000_000,
    min_side: int = 32,
    driver=None,
    log=print,
) -> Report:
    """Scrape `query` into `out_dir` until it holds `limit` pictures (or results run out).

    Resumes what the folder holds; a changed query or label starts it over. Pass
    `driver` to reuse a browser (tests, benchmarks); otherwise one is started and
    quit. The search stopping early (captcha, no results) does not lose what was
    downloaded: it ends in `report.error` after the downloads finish.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    report = Report(query, label, out_dir, limit)
    records, report.dropped = reconcile(out_dir, query, label, limit)
    if report.dropped:
        log(f"dropped {report.dropped} manifest records (another query or label, or missing files)")
    settings = dict(
        allow_hosts=tuple(allow_hosts), max_bytes=max_bytes, min_side=min_side,
        download_timeout_s=download_timeout_s, host_delay_s=host_delay_s,
    )  # fmt: skip
    collector = Collector(report, records, settings=settings)
    if not collector.full():
        own_driver = driver is None
        if own_driver:
            browser_started = time.perf_counter()
            from scraper.browser import start_browser

            driver = start_browser(webdriver_url, page_timeout_s=page_timeout_s)
            report.seconds["browser_start"] += time.perf_counter() - browser_started
        try:
            candidates = iter_candidates(
                driver, query, search_url=search_url, max_scroll_rounds=max_scroll_rounds,
                page_timeout_s=page_timeout_s, stats=report.search,
            )  # fmt: skip
            _download_all(collector, candidates, workers, log)
        finally:
            if own_driver:
                driver.quit()
    report.kept = collector.count
    report.seconds["total"] = time.perf_counter() - started
    return report


def _download_all(collector: Collector, candidates, workers: int, log) -> None:
    """Feed search results to `workers` download threads until the folder is full."""
    report = collector.report
    pending: set[Future] = set()

    def settle(done) -> None:
        for future in done:
            candidate = futures.pop(future)
            try:
                future.result()
            except Rejected as e:
                report.failures[e.kind] += 1
                log(f"skip {short_url(candidate.url)[:160]}: {e}")

    futures: dict[Future, Candidate] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="download") as pool:
        try:
            while not collector.full():
                browser_started = time.perf_counter()
                candidate = next(candidates, None)
                report.seconds["browser"] += time.perf_counter() - browser_started
                if candidate is None:
                    break
                if candidate.url in collector.urls:
                    continue  # kept by an earlier run (data: URIs are checked by hash)
                collector.urls.add(candidate.url)
                future = pool.submit(collector.process, candidate)
                futures[future] = candidate
                pending.add(future)
                # Enough queued to keep every worker busy; more would only be wasted
                # browser clicks once the limit is reached.
                while len(pending) >= 2 * workers:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    settle(done)
                done = {f for f in pending if f.done()}
                pending -= done
                settle(done)
        except ScrapeError as e:
            report.error = str(e)
        except WebDriverException as e:  # the browser crashed or went away mid-search
            report.error = f"the browser failed during the search ({_first_line(e)})"
        finally:
            candidates.close()
            done, _ = wait(pending)
            settle(done)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:160]
