"""Progress bars for the long steps, in one style: tqdm on stderr, shown on a terminal only.

`disable=None` is tqdm's "off when the stream is not a terminal", so the logs of CI
and `dvc repro` piped to a file stay free of bar frames. A command's `--quiet` calls
`silence()` (or passes quiet=True) to turn them off on a terminal too. Lines printed
while a bar is drawn go inside `lifted(bar)`, so they do not land on the bar's line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

_silenced = False


def silence(on: bool = True) -> None:
    """Turn every bar of this process off (a command's --quiet)."""
    global _silenced
    _silenced = on


def bar(
    iterable: Iterable | None = None,
    *,
    desc: str,
    total: int | None = None,
    unit: str = "pic",
    initial: int = 0,
    file=None,
    quiet: bool = False,
) -> tqdm:
    """A bar on `file` (stderr by default) that draws nothing unless it is a terminal."""
    return tqdm(
        iterable,
        desc=desc,
        total=total,
        unit=unit,
        initial=initial,
        file=file if file is not None else sys.stderr,
        disable=True if quiet or _silenced else None,
        leave=False,  # the step's own summary line is what stays on the screen
        dynamic_ncols=True,
        mininterval=0.5,
    )


@contextmanager
def lifted(shown: tqdm) -> Iterator[None]:
    """Clear the bar for the lines printed inside, then draw it again below them."""
    shown.clear()
    try:
        yield
    finally:
        shown.refresh()
