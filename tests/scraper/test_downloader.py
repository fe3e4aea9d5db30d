"""scraper/downloader.py's progress bar: found / kept / skipped on a terminal, nothing
on a pipe, nothing with the scraper's --quiet. Pictures come as data: URIs (no network)."""

from __future__ import annotations

import base64
import io
import sys

import pytest

from scraper import __main__ as scraper_cli
from scraper.collect import Report
from scraper.downloader import Downloader, Limits, download_all
from scraper.search import Candidate
from scraper.storage import Storage
from settings import progress
from tests.helpers import TerminalStream, make_image


def data_uri(data: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


def candidates():
    """Three distinct pictures, one of them listed twice (not fetched again), a page."""
    files = [make_image(64, 48, seed=s) for s in (1, 2, 3, 1)] + [b"<html>404</html>"]
    for data in files:
        yield Candidate(data_uri(data), "", None, "script")


def scrape(tmp_path, stream, monkeypatch) -> tuple[Report, list[str]]:
    monkeypatch.setattr(sys, "stderr", stream)
    report, lines = Report("cats", "real", tmp_path, limit=10), []
    storage = Storage(tmp_path, "cats", "real", 10)
    download_all(candidates(), Downloader(Limits(), report.seconds, lines.append), storage,
                 report, workers=1)  # fmt: skip
    return report, lines


@pytest.fixture(autouse=True)
def _not_silenced():
    yield
    progress.silence(False)


def test_a_terminal_shows_found_kept_and_skipped(tmp_path, monkeypatch):
    stream = TerminalStream()
    report, lines = scrape(tmp_path, stream, monkeypatch)
    assert sum(report.failures.values()) == 1 and len(lines) == 1
    shown = stream.getvalue()
    assert "scrape: cats" in shown and "/10 " in shown
    assert "found=5, kept=3, skipped=1" in shown


def test_a_pipe_shows_nothing(tmp_path, monkeypatch):
    stream = io.StringIO()
    scrape(tmp_path, stream, monkeypatch)
    assert stream.getvalue() == ""


def test_the_commands_quiet_flag_turns_the_bar_off(tmp_path, monkeypatch, capsys):
    def collect(query, label, out, **_):
        return Report(query, label, out, limit=1, kept=1)

    monkeypatch.setattr(scraper_cli, "collect", collect)
    scraper_cli.main(["cats", "--label", "real", "--out", str(tmp_path / "cli"), "--quiet"])
    assert "1/1 images for 'cats'" in capsys.readouterr().out
    stream = TerminalStream()
    scrape(tmp_path, stream, monkeypatch)
    assert stream.getvalue() == ""
