"""A scraped folder's manifest survives torn lines, full disks and hostile lines
(dataset/scraped.py): no resume ever loses a picture that was saved with its line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dataset.hashing import file_sha256
from dataset.scraped import MANIFEST, append_record, read_folder, read_manifest, reconcile

ROOT = Path(__file__).resolve().parents[2]


def save(folder: Path, seed: int, query: str = "cats", label: str = "real") -> dict:
    """A picture file in place and its record (not yet appended)."""
    data = f"picture {seed}".encode() * 10
    sha = file_sha256(data)
    name = f"{sha[:16]}.jpg"
    (folder / name).write_bytes(data)
    return {"file": name, "query": query, "label": label, "sha256": sha}


def test_resume_repairs_a_torn_last_line_before_the_next_append(tmp_path: Path):
    first, second = save(tmp_path, 1), save(tmp_path, 2)
    torn = json.dumps(second)[:40]  # killed mid-append: its picture is a stray
    (tmp_path / MANIFEST).write_text(json.dumps(first) + "\n" + torn)

    kept, _ = reconcile(tmp_path, "cats", "real")  # the resume
    assert [r["file"] for r in kept] == [first["file"]]
    third = save(tmp_path, 3)
    append_record(tmp_path, third)  # the first picture saved after the resume
    kept, dropped = reconcile(tmp_path, "cats", "real")  # the next resume

    assert [r["file"] for r in kept] == [first["file"], third["file"]] and dropped == 0
    assert (tmp_path / third["file"]).is_file()  # not deleted as a stray


def test_a_manifest_missing_only_its_last_newline_is_repaired(tmp_path: Path):
    first = save(tmp_path, 1)
    (tmp_path / MANIFEST).write_text(json.dumps(first))  # whole record, no newline
    reconcile(tmp_path, "cats", "real")
    append_record(tmp_path, save(tmp_path, 2))
    assert len(reconcile(tmp_path, "cats", "real")[0]) == 2


_APPEND_UNDER_LIMIT = """
import resource, signal, sys
from pathlib import Path
from dataset.errors import DatasetError
from dataset.scraped import append_record
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails (EFBIG) instead
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
record = {"file": sys.argv[3], "query": "cats", "label": "real", "sha256": sys.argv[4],
          "padding": "x" * 4000}
try:
    append_record(Path(sys.argv[1]), record)
except DatasetError as e:
    print(e)
    sys.exit(3)
"""


def test_a_full_disk_mid_append_leaves_no_torn_line_and_loses_no_later_picture(tmp_path: Path):
    """The kernel's file size limit makes the append fail part way through its line,
    as a full disk does: the manifest is cut back and the error is one line."""
    first = save(tmp_path, 1)
    append_record(tmp_path, first)
    before = (tmp_path / MANIFEST).read_bytes()
    refused = save(tmp_path, 2)
    done = subprocess.run(
        [sys.executable, "-c", _APPEND_UNDER_LIMIT, str(tmp_path), str(len(before) + 1000),
         refused["file"], refused["sha256"]],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert done.stdout.startswith("cannot add a line to") and done.stdout.count("\n") == 1
    assert (tmp_path / MANIFEST).read_bytes() == before  # no torn line left

    later = save(tmp_path, 3)  # space is back: the next picture is saved
    append_record(tmp_path, later)
    kept, _ = reconcile(tmp_path, "cats", "real")
    assert [r["file"] for r in kept] == [first["file"], later["file"]]


@pytest.mark.parametrize("depth", [10_000, 1_000_000])
def test_a_deeply_nested_line_is_one_unreadable_line_not_a_crash(tmp_path: Path, depth):
    good = save(tmp_path, 1)
    (tmp_path / MANIFEST).write_text(json.dumps(good) + "\n" + "[" * depth + "\n")
    assert [r["file"] for r in read_manifest(tmp_path)] == [good["file"]]
    entries, skipped = read_folder(tmp_path, "cats", 1)
    assert len(entries) == 1 and skipped["unreadable manifest line"] == 1
    kept, _ = reconcile(tmp_path, "cats", "real")
    assert [r["file"] for r in kept] == [good["file"]]
    assert os.path.getsize(tmp_path / MANIFEST) == len(json.dumps(good)) + 1
