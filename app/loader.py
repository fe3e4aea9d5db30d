"""The model, loaded in a background thread so the page is usable at once.

The first visit draws the page straight away (upload box, URL box, the model card);
the model (TensorFlow's import, the views' files, tracing their calls) loads beside
it, and only a picture to judge waits for it. One loader per process and published
version (`st.cache_resource`, keyed by the folder's stamp), so every session shares it.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import streamlit as st

from app import messages
from model import published
from model.errors import ModelError
from settings.errors import UserError, first_line

log = logging.getLogger(__name__)


class Loader:
    def __init__(self, folder: str, band: float):
        self.folder, self.band = folder, band
        self.predictor = None
        self.error: str | None = None
        self.seconds: float | None = None
        self._done = threading.Event()
        threading.Thread(target=self._load, name="realorai-model-loader", daemon=True).start()

    def _load(self) -> None:
        start = time.perf_counter()
        try:
            from model.serve import Predictor

            predictor = Predictor.load(self.folder, uncertain_band=self.band, warm_up=False)
            predictor.warm_up(gradcam=True)  # the heat-map toggle answers at once too
            self.predictor = predictor
        except UserError as e:
            self.error = messages.BAD_MODEL.format(reason=first_line(e))
        except Exception as e:  # noqa: BLE001 - shown as one line; the log has the rest
            log.exception("loading the model from %s failed", self.folder)
            self.error = messages.BAD_MODEL.format(reason=type(e).__name__)
        finally:
            self.seconds = time.perf_counter() - start
            self._done.set()

    @property
    def ready(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None):
        """The Predictor once loaded (None if it failed: see .error)."""
        self._done.wait(timeout)
        return self.predictor


@st.cache_resource(max_entries=2, show_spinner=False)
def _loader(folder: str, band: float, stamp: tuple) -> Loader:
    return Loader(folder, band)


def model_problem(folder: Path) -> str | None:
    """One plain sentence if the folder holds no usable model (cheap: no TensorFlow)."""
    try:
        card = published.read_card(folder)
    except ModelError as e:
        if not (Path(folder) / published.CARD_FILE).is_file():
            return messages.NO_MODEL
        return messages.BAD_MODEL.format(reason=first_line(e))
    if not all((Path(folder) / name).is_file() for name in published.model_files(card)):
        return messages.NO_MODEL
    return None


def get_loader(settings) -> Loader:
    """The shared loader (started on first call); a failed load is retried next run."""
    args = (str(settings.model_dir), settings.uncertain_band, published.stamp(settings.model_dir))
    loader = _loader(*args)
    if loader.ready and loader.error:
        _loader.clear()  # so the next rerun tries again (e.g. after a republish)
    return loader


def wait_for_model(loader: Loader):
    """The Predictor, waiting with a note the first time; None after one st.error line."""
    if not loader.ready:
        with st.spinner("Loading the model (first visit only, a few seconds)…"):
            loader.wait()
    if loader.predictor is None:
        st.error(loader.error or messages.BAD_MODEL.format(reason="unknown"))
    return loader.predictor
