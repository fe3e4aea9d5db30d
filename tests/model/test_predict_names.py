"""python -m model.predict writes every row whatever the file names and the locale: bytes
of a name that are not UTF-8 are shown as \\xNN, characters the output's encoding lacks
as escapes; no row is lost after such a name."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from model import predict
from tests.helpers import ROOT, make_image, publish_tiny, solid

# Each format in turn in one process (TensorFlow loads once), with a line between them.
DRIVER = """
import sys
from model import predict
for form in ("--text", "--csv", "--json"):
    args = [a for a in (form,) if a != "--text"] + sys.argv[1:]
    code = predict.main(args)
    sys.stdout.write(f"=== {code}\\n")
    sys.stdout.flush()
    sys.stderr.write("===\\n")
"""
# (environment, how café.png comes out): a UTF-8 locale's output is strict (it raised
# UnicodeEncodeError on bad<0xff>.png); LC_ALL=C without UTF-8 mode writes ASCII.
LOCALES = {
    "LANG=en_US.UTF-8": ({"LANG": "en_US.UTF-8", "PYTHONIOENCODING": "utf-8"}, "café.png"),
    "LANG=C": ({"LANG": "C"}, "café.png"),
    "LC_ALL=C, no UTF-8 mode": ({"LC_ALL": "C", "PYTHONUTF8": "0"}, "caf\\xe9.png"),
    "PYTHONIOENCODING=ascii": ({"LANG": "C.UTF-8", "PYTHONIOENCODING": "ascii"}, "caf\\xe9.png"),
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return publish_tiny(tmp_path_factory.mktemp("published"))


@pytest.fixture(scope="module")
def odd_names(tmp_path_factory) -> Path:
    """a.png, bad<0xff>.png, café.png, d<0xfe>broken.jpg (an error row), z-last.png."""
    folder = tmp_path_factory.mktemp("names")
    raw = os.fsencode(folder)
    for name, data in (
        (b"a.png", solid(255)),
        (b"bad\xff.png", solid(0)),
        ("café.png".encode(), make_image(50, 40, fmt="PNG")),
        (b"d\xfebroken.jpg", b"<html>not a picture</html>"),
        (b"z-last.png", solid(255)),
    ):
        with open(os.path.join(raw, name), "wb") as f:
            f.write(data)
    return folder


def _names(paths) -> list[str]:
    return [p.rsplit("/", 1)[-1] for p in paths]


def test_shown_path_escapes_only_bytes_that_are_not_utf8():
    assert predict.shown_path(os.fsdecode(b"/x/bad\xff.png")) == "/x/bad\\xff.png"
    assert predict.shown_path("/x/café.png") == "/x/café.png"


@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_every_row_is_written_in_every_format_and_locale(odd_names, model_dir, locale):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "REALORAI_MODEL_DIR": str(model_dir),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        **LOCALES[locale][0],
    }
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, os.fsencode(odd_names)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    good = ["a.png", "bad\\xff.png", LOCALES[locale][1], "z-last.png"]
    text, *codes_and_outputs = re.split(r"^=== (\d+)\n", done.stdout.decode("utf-8"), flags=re.M)
    codes, (table, array, _) = codes_and_outputs[::2], codes_and_outputs[1::2]
    assert codes == ["1", "1", "1"]  # the broken file, and nothing else
    assert _names(line.split("\t")[0] for line in text.splitlines()) == good
    rows = list(csv.DictReader(io.StringIO(table)))
    assert _names(r["path"] for r in rows) == [*good[:3], "d\\xfebroken.jpg", "z-last.png"]
    assert rows[3]["error"] and not rows[4]["error"] and rows[4]["label"] == "real"
    parsed = json.loads(array)
    # JSON escapes every non-ASCII character itself, so its names are the same everywhere.
    names = ["a.png", "bad\\xff.png", "café.png", "d\\xfebroken.jpg", "z-last.png"]
    assert _names(r["path"] for r in parsed) == names
    assert parsed[3]["error"] and parsed[4]["label"] == "real"
    text_errors = done.stderr.decode("utf-8").split("===\n")[0].splitlines()
    assert len(text_errors) == 1 and "d\\xfebroken.jpg: error: " in text_errors[0]
