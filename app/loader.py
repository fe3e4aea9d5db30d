"""The model, loaded in a background thread so the page is usable at once.

The first visit draws the page straight away (upload box, URL box, the model card);
the model loads beside it, and only a picture to judge waits for it, in two steps:
1. the views run by numpy (model/numpy_net.py, model/numpy_backbone.py for the web
   view), ready in well under a second: the first verdicts need no TensorFlow, whose
   import alone costs ~5 s of CPU;
2. the Keras engines (TensorFlow imported, calls traced, Grad-CAM), checked to agree
   with step 1, then swapped in; heat maps of whole pictures wait for this step. It
   starts once the first verdict is on the page (or heat maps are asked for, or the
   page has sat idle for KERAS_AFTER_S): TensorFlow's import holds the interpreter
   for seconds and would otherwise delay that first verdict.
One loader per process and published version (`st.cache_resource`, keyed by the
folder's stamp), so every session shares it. `python -m app.serve` (make app) starts it
with the server, before anyone visits, so a first visitor's upload finds it loaded.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from pathlib import Path

import streamlit as st

from app import messages
from model import published
from model.errors import ModelError
from settings.errors import UserError, first_line

log = logging.getLogger(__name__)


AGREE = 1e-3  # largest logit difference allowed between the numpy and Keras engines
KERAS_AFTER_S = 15.0  # step 2 starts by itself after this long
EXIT_WAIT_S = 60.0  # at exit, how long a load already inside TensorFlow may take to finish
_LOADERS: weakref.WeakSet = weakref.WeakSet()


class Loader:
    def __init__(self, folder: str, band: float):
        self.folder, self.band = folder, band
        self.predictor = None  # the best loaded so far: numpy first, then Keras
        self.error: str | None = None
        self.seconds: float | None = None  # to the first usable predictor
        self.full_seconds: float | None = None  # to the Keras one
        self._ready = threading.Event()
        self._full = threading.Event()
        self._want_full = threading.Event()
        self._closing = False
        self._thread = threading.Thread(
            target=self._load, name="realorai-model-loader", daemon=True
        )
        _LOADERS.add(self)
        self._thread.start()

    def _load(self) -> None:
        start = time.perf_counter()
        try:
            from model.serve import Predictor

            try:
                fast = Predictor.load(self.folder, uncertain_band=self.band, warm_up=False,
                                      engine="numpy")  # fmt: skip
            except UserError:
                raise
            except Exception:  # noqa: BLE001 - the Keras step below decides
                log.exception("numpy engine failed for %s; waiting for Keras", self.folder)
            else:
                # Trace the calls and load the decoders now, in the background: the first
                # upload would otherwise pay for them (0.8 s for the web view).
                fast.warm_up()
                self.predictor, self.seconds = fast, time.perf_counter() - start
                self._ready.set()
                self._want_full.wait(KERAS_AFTER_S)
                if self._closing:
                    return
            full = Predictor.load(self.folder, uncertain_band=self.band, warm_up=False)
            full.warm_up(gradcam=True)  # the heat-map toggle answers at once too
            if self.predictor is not None:
                _check_agreement(self.predictor, full)
            self.predictor = full
        except UserError as e:
            self.error = messages.BAD_MODEL.format(reason=first_line(e))
        except Exception as e:  # noqa: BLE001 - shown as one line; the log has the rest
            log.exception("loading the model from %s failed", self.folder)
            self.error = messages.BAD_MODEL.format(reason=type(e).__name__)
        finally:
            now = time.perf_counter() - start
            self.seconds = self.seconds if self.seconds is not None else now
            self.full_seconds = now
            self._ready.set()
            self._full.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def full(self) -> bool:
        return self._full.is_set()

    def wait(self, timeout: float | None = None):
        """The first usable Predictor (None if loading failed: see .error)."""
        self._ready.wait(timeout)
        return self.predictor

    def want_full(self) -> None:
        """Start step 2 now (the first verdict is shown, or heat maps are wanted)."""
        self._want_full.set()

    def wait_full(self, timeout: float | None = None):
        """The Keras Predictor (with Grad-CAM), once loaded."""
        self.want_full()
        self._full.wait(timeout)
        return self.predictor


@atexit.register
def _close_loaders() -> None:
    """A daemon thread stopped inside TensorFlow's C++ code at interpreter exit aborts
    the process ("FATAL: exception not rethrown"): a load not yet begun is skipped, one
    under way is given time to finish."""
    for loader in list(_LOADERS):
        loader._closing = True
        loader._want_full.set()
    for loader in list(_LOADERS):
        loader._thread.join(EXIT_WAIT_S)


def _check_agreement(fast, full) -> None:
    """Both engines on the same random pictures; a disagreement is logged (Keras wins)."""
    import numpy as np

    rng = np.random.default_rng(0)
    for name, view in full.views.items():
        pixels = rng.integers(0, 256, (4, view.size, view.size, view.channels), dtype=np.uint8)
        gap = float(np.abs(fast.views[name].logits(pixels) - view.logits(pixels)).max())
        if gap > AGREE:
            log.warning("numpy and Keras engines differ by %.2g on the %s view", gap, name)


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
        with st.spinner("Loading the model (first visit only)…"):
            loader.wait()
    if loader.predictor is None:
        st.error(loader.error or messages.BAD_MODEL.format(reason="unknown"))
    return loader.predictor


def wait_for_heat_maps(loader: Loader):
    """The Keras Predictor for Grad-CAM, waiting with a note while TensorFlow loads."""
    if not loader.full:
        with st.spinner("Preparing heat maps (first visit only, a few seconds)…"):
            loader.wait_full()
    return loader.predictor
