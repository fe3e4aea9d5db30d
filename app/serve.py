"""`python -m app.serve [streamlit options]`: `streamlit run app/main.py`, with the model
loading from the moment the server starts (issue 27: a first verdict within 1.5 s of an
upload). Under plain `streamlit run` the model starts loading at the first visit, and
TensorFlow's import (4 s of CPU) then lands between the page and its first upload.

The loader is the one the pages share (app/loader.py, `st.cache_resource`), so the
first visit finds it under way or done; a settings or model problem is left for the
page to say in its own words.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

MAIN = Path(__file__).with_name("main.py")
log = logging.getLogger(__name__)


def preload() -> None:
    """Import what the pages import, then start the shared model loader (it loads in its
    own thread); never raises. The imports come first, here in the main thread: a first
    visit importing the same modules while the loader's thread imports TensorFlow could
    otherwise meet it halfway through one (a page that never got its verdict)."""
    try:
        from app import check_page, config, model_page  # noqa: F401 - imported for the pages
        from app.loader import get_loader, model_problem

        settings = config.load_settings()
        if model_problem(settings.model_dir) is None:
            get_loader(settings)
    except Exception:  # noqa: BLE001 - the page reports any problem when visited
        log.exception("preloading the model failed; the first visit will load it")


def main(argv: list[str] | None = None) -> None:
    from streamlit.web import cli

    # `streamlit run` puts app/'s folder on sys.path; the pages import app.* from the root
    root = str(MAIN.parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    preload()
    args = sys.argv[1:] if argv is None else argv
    cli.main(args=["run", str(MAIN), *args], prog_name="streamlit")


if __name__ == "__main__":
    main()
