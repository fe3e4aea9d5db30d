"""The one base class of the errors a user can act on, and the one way to print them."""

from __future__ import annotations

import sys
from collections.abc import Callable


class UserError(Exception):
    """Bad input or a missing source: one line says what and why (no traceback).

    Every package's own error (ParamsError, DatasetError, ImageError, ScrapeError,
    ModelError) derives from it, so entry points catch this one class.
    """


def first_line(error: BaseException, limit: int = 160) -> str:
    """The first line of an error's message (its class name when it has none), cut to `limit`."""
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:limit]


def run(main: Callable[[], object], name: str | None = None) -> None:
    """Run a command's main(); exit 1 with `error: <name>: <reason>` on a user error.

    Every stage entry point and command-line tool runs through here, so bad input
    is one line the user can act on; anything else is a bug and keeps its traceback.
    """
    name = name or main.__module__.rsplit(".", 1)[-1]
    try:
        main()
    except UserError as e:
        print(f"error: {name}: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"error: {name}: interrupted", file=sys.stderr)
        sys.exit(130)
