"""Classify pictures from the shell with the published model.

    python -m model.predict [--model DIR] [--json | --csv] [--quiet] PATH...

PATH is a file (tried whatever its name) or a folder (searched recursively for
image extensions). One line per picture: path, p_real, label, milliseconds. A bad
file prints one error line (stderr; an error row with --json/--csv) and the rest go
on. Exit code 0 if every picture was classified, 1 if any failed, 2 if the model
cannot be loaded. Pictures are decoded one by one and sent to the model in batches.
On a terminal a progress bar counts the pictures read (stderr; --quiet hides it).

With a three-class model (real, modified, ai) each row also carries the three
probabilities: p_real and, after it, p_modified and p_ai (columns present only then).

Each row also says which view judged the picture (whole: CIFAKE-sized, web: a web
picture) and what the file itself says about its origin (dataset/provenance.py:
Content Credentials, IPTC source type, generator settings, camera EXIF), read from the
original bytes and kept apart from the pixel verdict.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dataset.imaging import MAX_BYTES, ImageError
from dataset.provenance import FIELDS as PROVENANCE_FIELDS
from dataset.provenance import MISSING, read_provenance
from settings.progress import bar, lifted

EXTENSIONS = {".jpg", ".jpeg", ".jfif", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
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


BATCH = 256


@dataclass
class Row:
    path: str
    p_real: float | None = None
    label: str | None = None
    verdict: str | None = None
    view: str | None = None
    kind: str | None = None
    calibrated: bool | None = None
    milliseconds: float | None = None
    provenance: dict | None = None
    error: str | None = None
    probabilities: dict | None = None  # a three-class model's, by class name


def find_images(paths: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """(path, problem): files as given, folders expanded (sorted, image extensions only)."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file()
            )
            if not found:
                yield given, "no image files in this folder"
            for p in found:
                yield str(p), None
        elif path.is_file():
            yield given, None
        else:
            yield given, "no such file or folder"


def read_bytes(path: str, max_bytes: int = MAX_BYTES) -> bytes:
    """A file's bytes; ImageError (one line) if larger than max_bytes, checked before reading."""
    length = os.path.getsize(path)
    if length > max_bytes:
        raise ImageError(f"file too large ({length:,} bytes > {max_bytes:,})")
    with open(path, "rb") as f:
        return f.read()


def classify(
    predictor, found: Iterable[tuple[str, str | None]], batch_size: int = BATCH, on_read=None
) -> Iterator[Row]:
    """Rows of find_images' (path, problem) pairs, in input order; a picture's milliseconds =
    its decoding + its share of the batch. `on_read()` is called once per path read."""
    pending: list[tuple[Row, object]] = []

    def flush():
        if not pending:
            return
        done = predictor.score([prepared for _, prepared in pending])
        for (row, _), p in zip(pending, done, strict=True):
            row.p_real, row.label, row.verdict = p.p_real, p.label, p.verdict
            row.view, row.kind, row.calibrated = p.view, p.kind, p.calibrated
            row.milliseconds, row.probabilities = p.milliseconds, p.probabilities
        pending.clear()

    queue: list[Row] = []  # rows waiting for their batch, to keep the output in order
    for path, problem in found:
        row = Row(path, error=problem)
        queue.append(row)
        if problem is None:
            try:
                data = read_bytes(path)
                # From the original bytes, before decoding: nothing is stripped yet.
                row.provenance = read_provenance(data).fields()
                prepared = predictor.prepare(data)
            except ImageError as e:
                row.error = str(e)
            except OSError as e:
                row.error = f"cannot read ({e.strerror or type(e).__name__})"
            else:
                pending.append((row, prepared))
        if on_read is not None:
            on_read()
        if len(pending) >= batch_size:
            flush()
            yield from queue
            queue.clear()
    flush()
    yield from queue


# --- output ---


class TextOutput:
    def __init__(self, out, err, classes=None):
        self.out, self.err = out, err

    def row(self, row: Row):
        if row.error:
            print(f"{shown_path(row.path)}: error: {row.error}", file=self.err, flush=True)
        else:
            line = (
                f"{shown_path(row.path)}\t{row.p_real:.4f}\t{row.label}\t"
                f"{row.milliseconds:.1f} ms\t{row.view}"
            )
            if row.probabilities:
                line += "\t" + " ".join(f"{c} {p:.4f}" for c, p in row.probabilities.items())
            if row.provenance and row.provenance["provenance"] != MISSING:
                line += f"\t{row.provenance['provenance']}"
            print(line, file=self.out)

    def close(self):
        pass


class CsvOutput:
    def __init__(self, out, err, classes=None):
        self.fields = fields(classes)
        self.writer = csv.DictWriter(out, self.fields, lineterminator="\n")
        self.writer.writeheader()

    def row(self, row: Row):
        self.writer.writerow(_rounded(row, self.fields))

    def close(self):
        pass


class JsonOutput:
    """One JSON array, written row by row so a long run streams."""

    def __init__(self, out, err, classes=None):
        self.out, self.first, self.fields = out, True, fields(classes)
        out.write("[")

    def row(self, row: Row):
        values = _rounded(row, self.fields)
        self.out.write(("\n " if self.first else ",\n ") + json.dumps(values))
        self.first = False

    def close(self):
        self.out.write("\n]\n" if not self.first else "]\n")


def shown_path(path: str) -> str:
    """A path as text every output can carry: bytes of a name that are not UTF-8 (which
    Python keeps as lone surrogates, unencodable in a UTF-8 locale) become \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def tolerant(stream) -> None:
    """A character the stream's encoding lacks (any non-ASCII name under LANG=C or
    PYTHONIOENCODING=ascii) is written as an escape instead of ending the run."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")


def _rounded(row: Row, columns: tuple[str, ...] = FIELDS) -> dict:
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


# --- command ---


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m model.predict",
        description="Is each picture real or AI-generated? (p_real: 1 = real photograph)",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    parser.add_argument(
        "--model",
        metavar="DIR",
        default=None,
        help="model folder (default: $REALORAI_MODEL_DIR, else published/)",
    )
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="one JSON array of rows")
    form.add_argument("--csv", action="store_true", help="CSV with a header row")
    parser.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--batch-size", type=int, default=BATCH, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None, out=None, err=None) -> int:
    args = parse_args(argv)
    out, err = out or sys.stdout, err or sys.stderr
    tolerant(out)
    tolerant(err)
    serve = _import_serve()
    from settings.params import ParamsError

    try:
        predictor = serve.Predictor.load(args.model)  # the uncertain band from params.yaml
    except (serve.ModelError, ParamsError) as e:
        print(f"error: {e}", file=err)
        return 2
    kind = JsonOutput if args.json else CsvOutput if args.csv else TextOutput
    output = kind(out, err, predictor.classes)
    found = list(find_images(args.paths))
    failed = 0
    with bar(desc="predict", total=len(found), file=err, quiet=args.quiet) as shown:
        for row in classify(predictor, found, max(1, args.batch_size), shown.update):
            failed += row.error is not None
            with lifted(shown):
                output.row(row)
    output.close()
    out.flush()
    return 1 if failed else 0


def _import_serve():
    """Import model.serve (and TensorFlow) with C-level start-up chatter kept off stderr.

    TensorFlow's native libraries print INFO lines at load time, before
    TF_CPP_MIN_LOG_LEVEL is consulted; stderr here carries one line per bad picture.
    Python errors are unaffected: they are raised after stderr is restored.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        import model.serve as serve

        return serve
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import model.serve as serve
            import model.serve_keras  # noqa: F401 - TensorFlow, which the command's engine uses
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return serve


if __name__ == "__main__":
    sys.exit(main())
