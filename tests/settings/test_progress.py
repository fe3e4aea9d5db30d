"""settings/progress.py: bars on a terminal, nothing on a pipe or with --quiet."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from settings import progress
from tests.helpers import ROOT, TerminalStream, run_on_terminal

STEP = "from settings.progress import bar\nfor _ in bar(range(5000), desc='step'): pass\n"


@pytest.fixture(autouse=True)
def _not_silenced():
    yield
    progress.silence(False)


def test_a_bar_draws_on_a_terminal():
    stream = TerminalStream()
    for _ in progress.bar(range(50), desc="merge", file=stream):
        pass
    assert "merge:" in stream.getvalue() and "/50 " in stream.getvalue()


def test_nothing_is_drawn_when_the_stream_is_not_a_terminal():
    stream = io.StringIO()
    for _ in progress.bar(range(50), desc="merge", file=stream):
        pass
    assert stream.getvalue() == ""


def test_quiet_and_silence_turn_bars_off_on_a_terminal_too():
    stream = TerminalStream()
    for _ in progress.bar(range(50), desc="a", file=stream, quiet=True):
        pass
    progress.silence()
    for _ in progress.bar(range(50), desc="b", file=stream):
        pass
    assert stream.getvalue() == ""


def test_lines_printed_while_a_bar_is_shown_are_not_on_its_line():
    stream = TerminalStream()
    with progress.bar(desc="scrape", total=3, file=stream) as shown:
        shown.update(1)
        with progress.lifted(shown):
            stream.write("skip http://x: too small\n")
        shown.update(2)
    text = stream.getvalue()
    before, after = text.split("skip http://x: too small\n")
    assert before.endswith("\r")  # the bar was cleared back to the line's start
    assert "scrape:" in after  # and drawn again below the line


def test_a_process_shows_its_bar_on_a_pseudo_terminal_and_nothing_on_a_pipe():
    shown = run_on_terminal([sys.executable, "-c", STEP])
    assert "step:" in shown and "/5000 " in shown
    piped = subprocess.run(
        [sys.executable, "-c", STEP], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert piped.returncode == 0 and piped.stderr == ""
