"""The rows of `python -m model.predict` as text, CSV or JSON.

Every value that came from the file system or from a file (names, metadata) is data:
in text and CSV, control characters (newlines, ESC sequences, bidi overrides, line
separators) are written as escapes, so a picture is one line and nothing it carries
reaches the terminal as a command; JSON escapes them itself.
"""

from __future__ import annotations

import csv
import json
import os

from dataset.provenance import FIELDS as PROVENANCE_FIELDS
from dataset.provenance import MISSING

VERDICT_FIELDS = ("p_real", "label", "verdict", "view", "kind", "calibrated", "milliseconds")
FIELDS = ("path", *VERDICT_FIELDS, *PROVENANCE_FIELDS, "error")
REAL_CLASS = "real"  # model.classes.CLASSES[REAL]: its probability is the p_real column


def fields(classes=None) -> tuple[str, ...]:
    """The columns: FIELDS, with p_<class> after p_real for each other class of a
    three-class model."""
    if not classes:
        return FIELDS
    extra = tuple(f"p_{c}" for c in classes if c != REAL_CLASS)
    at = FIELDS.index("p_real") + 1
    return (*FIELDS[:at], *extra, *FIELDS[at:])


class TextOutput:
    """One tab-separated line per picture (errors on stderr), every text field escaped."""

    def __init__(self, out, err, classes=None):
        self.out, self.err = out, err

    def row(self, row):
        if row.error:
            line = f"{printable(shown_path(row.path))}: error: {printable(row.error)}"
            print(line, file=self.err, flush=True)
        else:
            line = (
                f"{printable(shown_path(row.path))}\t{row.p_real:.4f}\t{row.label}\t"
                f"{row.milliseconds:.1f} ms\t{row.view}"
            )
            if row.probabilities:
                line += "\t" + " ".join(f"{c} {p:.4f}" for c, p in row.probabilities.items())
            if row.provenance and row.provenance["provenance"] != MISSING:
                line += f"\t{printable(row.provenance['provenance'])}"
            print(line, file=self.out)

    def close(self):
        pass


class CsvOutput:
    def __init__(self, out, err, classes=None):
        self.fields = fields(classes)
        self.writer = csv.DictWriter(out, self.fields, lineterminator="\n")
        self.writer.writeheader()

    def row(self, row):
        values = _rounded(row, self.fields)
        self.writer.writerow({k: printable(v) if isinstance(v, str) else v
                              for k, v in values.items()})  # fmt: skip

    def close(self):
        pass


class JsonOutput:
    """One JSON array, written row by row so a long run streams."""

    def __init__(self, out, err, classes=None):
        self.out, self.first, self.fields = out, True, fields(classes)
        out.write("[")

    def row(self, row):
        values = _rounded(row, self.fields)
        self.out.write(("\n " if self.first else ",\n ") + json.dumps(values))
        self.first = False

    def close(self):
        self.out.write("\n]\n" if not self.first else "]\n")


def shown_path(path: str) -> str:
    """A path as text every output can carry: bytes of a name that are not UTF-8 (which
    Python keeps as lone surrogates, unencodable in a UTF-8 locale) become \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def printable(text: str) -> str:
    """`text` with every character that is not printable (C0 and C1 controls, tabs and
    newlines, format characters such as bidi overrides, line and paragraph separators)
    written as its escape: \\n, \\x1b, \\u202e."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    return char.encode("unicode_escape").decode("ascii")


def tolerant(stream) -> None:
    """A character the stream's encoding lacks (any non-ASCII name under LANG=C or
    PYTHONIOENCODING=ascii) is written as an escape instead of ending the run."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")


def _rounded(row, columns: tuple[str, ...] = FIELDS) -> dict:
    values = {k: v for k, v in row.__dict__.items() if k not in ("provenance", "probabilities")}
    values = {**values, **dict.fromkeys(PROVENANCE_FIELDS), **(row.provenance or {})}
    for name, p in (row.probabilities or {}).items():
        values[f"p_{name}"] = round(p, 6)
    values = {k: values.get(k) for k in columns}
    values["path"] = shown_path(row.path)
    if row.p_real is not None:
        values["p_real"] = round(row.p_real, 6)
        values["milliseconds"] = round(row.milliseconds, 3)
    return values
