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
import errno
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dataset.imaging import MAX_BYTES, ImageError
from dataset.provenance import read_provenance
from model.predict_output import (  # noqa: F401 - the command's outputs, named here too
    FIELDS,
    CsvOutput,
    JsonOutput,
    TextOutput,
    fields,
    shown_path,
    tolerant,
)
from settings.progress import bar, lifted

EXTENSIONS = {".jpg", ".jpeg", ".jfif", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}

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
    """(path, problem): files as given, folders expanded (sorted, image extensions only).

    Every argument and every entry found with an image extension gets a pair: a
    dangling link, a link loop, a FIFO or a device named *.jpg, and a folder that
    cannot be listed, each come with the problem that makes them no picture."""
    for given in paths:
        path = Path(given)
        if _kind(path) == "folder":
            found = list(_walk(path))
            if not found:
                yield given, "no image files in this folder"
            yield from found
        else:
            yield given, _problem(path)


def _walk(folder: Path) -> Iterator[tuple[str, str | None]]:
    """Depth first, names sorted (the order of sorted(rglob)); links are not followed
    into folders."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as e:
        yield str(folder), f"cannot list this folder ({e.strerror or type(e).__name__})"
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(path)
        elif path.suffix.lower() in EXTENSIONS:
            yield str(path), _problem(path)


def _kind(path: Path) -> str | None:
    """ "file", "folder", "link loop", "dangling link", "missing", or another file type."""
    try:
        mode = path.stat().st_mode
    except OSError as e:
        if path.is_symlink():
            return "link loop" if e.errno == errno.ELOOP else "dangling link"
        return "missing" if e.errno in (errno.ENOENT, errno.ENOTDIR) else e.strerror
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    return next((name for test, name in _SPECIAL if test(mode)), "special file")


_SPECIAL = ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "device"),
            (stat.S_ISBLK, "device"))  # fmt: skip
_PROBLEMS = {
    "file": None,
    "missing": "no such file or folder",
    "link loop": "a symbolic link loop, not a file",
    "dangling link": "a symbolic link to nothing",
    "folder": "a folder",
}


def _problem(path: Path) -> str | None:
    kind = _kind(path)
    return _PROBLEMS.get(kind, f"not a regular file (a {kind})")


def read_bytes(path: str, max_bytes: int = MAX_BYTES) -> bytes:
    """A regular file's bytes, reading at most max_bytes + 1 of them: ImageError (one
    line) if it is larger, whatever its size said a moment earlier (a file replaced or
    growing between the check and the read), or if it is not a regular file by now (a
    FIFO is opened without waiting for a writer)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with open(fd, "rb") as f:
        length = os.fstat(fd).st_size
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ImageError("not a regular file")
        if length > max_bytes:
            raise ImageError(f"file too large ({length:,} bytes > {max_bytes:,})")
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImageError(f"file too large (more than {max_bytes:,} bytes)")
    return data


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
