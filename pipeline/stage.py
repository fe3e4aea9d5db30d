"""How every stage entry point runs: project errors become one line, not a traceback."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from dataset.errors import DatasetError
from dataset.imaging import ImageError
from model.errors import ModelError
from pipeline.params import ParamsError
from scraper.errors import ScrapeError

# Errors that describe bad input or a missing source: the user can act on one line.
# Anything else is a bug and keeps its traceback.
USER_ERRORS = (ParamsError, DatasetError, ImageError, ModelError, ScrapeError)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def run(main: Callable[[], object], name: str | None = None) -> None:
    """Run a stage's main(); exit 1 with `error: <stage>: <reason>` on a user error."""
    stage = name or main.__module__.rsplit(".", 1)[-1]
    try:
        main()
    except USER_ERRORS as e:
        print(f"error: {stage}: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"error: {stage}: interrupted", file=sys.stderr)
        sys.exit(130)
