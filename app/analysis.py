"""Analysing one picture for the page: the pixel verdict, what the file says about its
origin, and the copy to display. No Streamlit here; every problem becomes one plain
sentence in Result.error, never an exception."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app import config, messages
from dataset.imaging import ImageError, decode_image
from dataset.provenance import Provenance, read_provenance
from model.published import EXAMPLES_LIST

DISPLAY_SIDE = 512  # pictures are shown at most this large
SMALL = 192  # pictures smaller than this are shown enlarged, with visible pixels
log = logging.getLogger(__name__)


@dataclass
class Result:
    name: str
    source: str = "upload"  # upload | url | example
    prediction: object | None = None  # model.serve.Prediction
    provenance: Provenance | None = None  # read from the original bytes
    error: str | None = None  # one plain sentence
    picture: np.ndarray | None = field(default=None, repr=False)  # for display, RGB
    true_label: str | None = None  # known for the example pictures
    heat: np.ndarray | None = field(default=None, repr=False)  # Grad-CAM, on demand
    region: object | None = field(default=None, repr=False)  # model.region_map.RegionMap
    shown: str | None = None  # the verdict as shown (verdict.shown_verdict), if not the model's

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def verdict(self) -> str | None:
        """real, ai, uncertain or too_small: what the page says of it (None if unchecked)."""
        return self.shown or (self.prediction.verdict if self.prediction else None)


def analyse(predictor, name: str, data: bytes, *, max_bytes: int, **extra) -> Result:
    """Provenance first, from the bytes as they came (nothing stripped yet), then pixels."""
    from_url = extra.get("source") == "url"
    provenance = read_provenance(data)
    try:
        prediction = predictor.predict_bytes(data, max_bytes=max_bytes)
        picture = display_picture(data, max_bytes)
    except ImageError as e:
        error = messages.picture_problem(str(e), max_mb=max_bytes / config.MB, from_url=from_url)
        return Result(name, provenance=provenance, error=error, **extra)
    except Exception:  # noqa: BLE001 - one bad picture must not stop the others
        log.exception("analysing %s failed", name)
        return Result(name, provenance=provenance, error=messages.UNEXPECTED, **extra)
    return Result(name, prediction=prediction, provenance=provenance, picture=picture, **extra)


def refused(name: str, reason: str, **extra) -> Result:
    return Result(name, error=reason, **extra)


def display_picture(data: bytes, max_bytes: int, side: int = DISPLAY_SIDE) -> np.ndarray:
    """The picture for the page, at most `side` pixels a side (display only)."""
    from PIL import Image

    rgb = decode_image(data, max_bytes=max_bytes, shrink_to=side)
    if max(rgb.shape[:2]) < SMALL:
        # Tiny pictures (CIFAKE's 32x32, the examples) are enlarged with visible
        # pixels, rather than blurred by the browser.
        factor = -(-SMALL // max(rgb.shape[:2]))
        return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)
    if max(rgb.shape[:2]) <= side:
        return rgb
    image = Image.fromarray(rgb)
    image.thumbnail((side, side), Image.LANCZOS)
    return np.asarray(image)


def example_picture(path: Path, max_bytes: int) -> np.ndarray | None:
    try:
        return display_picture(Path(path).read_bytes(), max_bytes)
    except (OSError, ImageError):
        return None


def heat_of(predictor, result: Result) -> np.ndarray | None:
    """Grad-CAM of a whole-view verdict (the web view draws no map)."""
    return _whole_view_map(result, "heat", predictor.gradcam)


def region_of(predictor, result: Result):
    """Where a whole-view picture looks edited (model.region_map), once per picture."""
    return _whole_view_map(result, "region", predictor.region_map)


def _whole_view_map(result: Result, field: str, compute):
    """A map of the whole-view pixels, computed once and kept on the result; None for
    a web verdict or no verdict."""
    p = result.prediction
    if p is None or p.pixels is None:
        return None
    if getattr(result, field) is None:
        setattr(result, field, compute(p.pixels))
    return getattr(result, field)


def load_examples(folder: Path) -> list[dict]:
    """[{path, label, source}] from the folder's examples.json; [] when absent or unreadable.

    The publish stage copies test pictures to published/examples/, committed, so a
    fresh clone has them.
    """
    listing = Path(folder) / EXAMPLES_LIST
    try:
        entries = json.loads(listing.read_text())
    except (OSError, ValueError):
        return []
    out = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            continue
        path = Path(folder) / Path(entry["file"]).name  # never outside the folder
        if path.is_file():
            out.append({"path": path, "label": entry.get("label"), "source": entry.get("source")})
    return out
