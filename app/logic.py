"""What the app computes, without Streamlit: settings, fetching, analysing, tables, colours.

app/ui.py draws; everything here is plain Python and numpy, tested on its own.
Environment:
  REALORAI_MODEL_DIR     model folder (default: published/ at the repository root)
  REALORAI_EXAMPLES_DIR  example pictures (default: data/examples/)
  REALORAI_ALLOW_HOSTS   comma-separated hosts the URL input may fetch even though they
                         are private/loopback (default: none; tests serve on 127.0.0.1)
"""

from __future__ import annotations

import io
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np

from dataset.imaging import ImageError, decode_image

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR_ENV = "REALORAI_MODEL_DIR"
EXAMPLES_DIR_ENV = "REALORAI_EXAMPLES_DIR"
ALLOW_HOSTS_ENV = "REALORAI_ALLOW_HOSTS"
UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"]
MB = 1024 * 1024
DISPLAY_SIDE = 512  # pictures are shown at most this large; the model sees 36x36 anyway
SMALL = 192  # pictures smaller than this are shown enlarged
HEAT_ALPHA = 0.5
TITLES = {
    "real": "Real photograph",
    "ai": "AI-generated",
    "uncertain": "Uncertain — possibly edited or a blend",
}
MEANING = (
    "p_real is the model's calibrated probability that this is a real photograph, "
    "judged from small-scale pixel traces in a {s}×{s} copy of the picture: it does "
    "not look at faces, content or facts, so it cannot tell whether what the picture "
    "shows is true, and heavy editing or re-compression can mislead it."
)
NO_MODEL = (
    "No published model at {folder}: build it with `make pipeline-offline` "
    "(or `dvc repro`), or set REALORAI_MODEL_DIR to a model folder."
)
log = logging.getLogger(__name__)


class FetchError(ValueError):
    """An image URL could not be fetched; the message says why in one line."""


@dataclass(frozen=True)
class Settings:
    model_dir: Path
    examples_dir: Path
    allow_hosts: tuple[str, ...]
    uncertain_band: float
    max_bytes: int
    url_timeout_s: float

    @property
    def max_mb(self) -> float:
        return self.max_bytes / MB


def load_settings(env=None) -> Settings:
    """params.yaml `app` (ParamsError, one line, if wrong) plus the environment."""
    from settings import params

    env = os.environ if env is None else env
    app = params.load("app", ROOT / "params.yaml")
    return Settings(
        model_dir=Path(env.get(MODEL_DIR_ENV) or ROOT / "published"),
        examples_dir=Path(env.get(EXAMPLES_DIR_ENV) or ROOT / "data" / "examples"),
        allow_hosts=parse_hosts(env.get(ALLOW_HOSTS_ENV, "")),
        uncertain_band=app.uncertain_band,
        max_bytes=int(app.max_upload_mb * MB),
        url_timeout_s=app.url_timeout_s,
    )


def model_stamp(folder: Path) -> tuple:
    """Changes when the model is republished, so a long-running app picks up the new one."""
    stamp = []
    for name in ("model.keras", "model_card.json"):
        try:
            info = (Path(folder) / name).stat()
            stamp.append((info.st_mtime_ns, info.st_size))
        except OSError:
            stamp.append(None)
    return tuple(stamp)


# --- one picture ---


@dataclass
class Result:
    name: str
    source: str = "upload"  # upload | url | example
    prediction: object | None = None  # model.serve.Prediction
    error: str | None = None
    picture: np.ndarray | None = field(default=None, repr=False)  # for display, RGB
    true_label: str | None = None  # known for the example pictures
    heat: np.ndarray | None = field(default=None, repr=False)  # Grad-CAM, computed on demand

    @property
    def ok(self) -> bool:
        return self.error is None


def analyse(predictor, name: str, data: bytes, *, max_bytes: int, **extra) -> Result:
    """Predict one picture; any problem becomes Result.error (one line), never an exception."""
    try:
        prediction = predictor.predict_bytes(data, max_bytes=max_bytes)
        picture = display_picture(data, max_bytes)
    except ImageError as e:
        return Result(name, error=str(e), **extra)
    except Exception as e:  # noqa: BLE001 - one bad picture must not stop the others
        log.exception("analysing %s failed", name)
        return Result(name, error=f"could not analyse this picture ({type(e).__name__})", **extra)
    return Result(name, prediction=prediction, picture=picture, **extra)


def display_picture(data: bytes, max_bytes: int, side: int = DISPLAY_SIDE) -> np.ndarray:
    """The picture for the page, at most `side` pixels a side (display only, not for the model)."""
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


def heat_of(predictor, result: Result) -> np.ndarray:
    if result.heat is None:
        result.heat = predictor.gradcam(result.prediction.pixels)
    return result.heat


# --- URLs ---


def parse_hosts(text: str) -> tuple[str, ...]:
    return tuple(h.strip() for h in text.split(",") if h.strip())


def fetch_url(url: str, *, allow_hosts=(), max_bytes: int, timeout: float) -> bytes:
    """The bytes behind an image URL, through scraper.http (every redirect hop re-checked).

    The server's content type is not trusted: the decoder sniffs the bytes themselves.
    Raises FetchError with one line.
    """
    url = url.strip()
    if not url:
        raise FetchError("enter an image URL (http:// or https://)")
    try:
        from scraper import http
        from scraper.errors import ScrapeError
    except ImportError:
        raise FetchError("URL input is unavailable: scraper/http.py is not installed") from None
    import requests

    try:
        http.check_url(url, allow_hosts)  # refuse before any network traffic
        session = http.new_session(retries=1, backoff=0.2)  # a person is waiting
        try:
            data, _content_type = http.fetch_bytes(
                session, url, allow_hosts=tuple(allow_hosts), max_bytes=max_bytes, timeout=timeout
            )
        finally:
            session.close()
    except ScrapeError as e:
        raise FetchError(one_line(e)) from None
    except (requests.RequestException, OSError, ValueError) as e:
        raise FetchError(f"could not fetch the URL ({type(e).__name__}: {one_line(e)})") from None
    return data


def url_name(url: str) -> str:
    """A short name for a URL's picture: its file name, else the host."""
    parts = urlsplit(url.strip())
    tail = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    return (tail or parts.hostname or url)[:80]


def one_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:300]


# --- many pictures ---


def results_rows(results: list[Result]) -> list[dict]:
    rows = []
    for r in results:
        p = r.prediction
        row = {
            "picture": r.name,
            "verdict": TITLES[p.verdict] if p else "error",
            "p_real": round(p.p_real, 4) if p else None,
            "milliseconds": round(p.milliseconds, 1) if p else None,
            "error": r.error or "",
        }
        if any(x.true_label for x in results):
            row["true label"] = r.true_label or ""
        rows.append(row)
    return rows


def results_csv(results: list[Result]) -> bytes:
    import csv

    rows = results_rows(results)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, list(rows[0]) if rows else ["picture"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


# --- heat map ---

# A perceptual dark-to-bright ramp (black, purple, red, orange, pale yellow; like
# "inferno"), readable on light and dark themes alike.
_RAMP = np.array(
    [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], np.float32
)


def colormap(heat: np.ndarray) -> np.ndarray:
    """(H, W) values in 0..1 -> (H, W, 3) uint8 RGB."""
    x = np.clip(heat, 0, 1) * (len(_RAMP) - 1)
    low = np.floor(x).astype(int).clip(0, len(_RAMP) - 2)
    t = (x - low)[..., None]
    return np.rint(_RAMP[low] * (1 - t) + _RAMP[low + 1] * t).astype(np.uint8)


def overlay(picture: np.ndarray, heat: np.ndarray, alpha: float = HEAT_ALPHA) -> np.ndarray:
    """The heat map stretched over the whole picture (the model saw it whole, squashed)."""
    import cv2

    height, width = picture.shape[:2]
    big = cv2.resize(heat.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    # More heat, more colour: cold regions keep the picture visible underneath.
    weight = alpha * np.clip(big, 0, 1)[..., None] ** 0.5
    mixed = picture.astype(np.float32) * (1 - weight) + colormap(big) * weight
    return np.rint(mixed).astype(np.uint8)


# --- examples ---


def load_examples(folder: Path) -> list[dict]:
    """[{path, label, source}] from examples.json; [] when absent or unreadable."""
    listing = Path(folder) / "examples.json"
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


# --- the model card, as tables for charts (every part optional) ---


def number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def headline(card: dict) -> list[tuple[str, str]]:
    """(label, value) for the metrics present, formatted."""
    metrics = card.get("metrics") or {}
    shown = [
        ("Accuracy", "accuracy", "{:.1%}"),
        ("ROC-AUC", "roc_auc", "{:.3f}"),
        ("Average precision", "average_precision", "{:.3f}"),
        ("ECE before calibration", "ece_before", "{:.3f}"),
        ("ECE after calibration", "ece_after", "{:.3f}"),
    ]
    return [
        (label, fmt.format(v))
        for label, key, fmt in shown
        if (v := number(metrics.get(key))) is not None
    ]


def per_class_rows(card: dict) -> list[dict]:
    metrics = card.get("metrics") or {}
    rows = []
    for label in ("ai", "real"):
        row = {"class": label}
        for key in ("precision", "recall", "f1"):
            value = (
                (metrics.get(key) or {}).get(label) if isinstance(metrics.get(key), dict) else None
            )
            if number(value) is not None:
                row[key] = round(float(value), 4)
        if len(row) > 1:
            rows.append(row)
    return rows


def confusion_rows(card: dict) -> list[dict]:
    """[{actual, predicted, count}] from confusion_matrix {labels, matrix}."""
    cm = card.get("confusion_matrix") or {}
    labels, matrix = cm.get("labels"), cm.get("matrix")
    try:
        return [
            {"actual": str(a), "predicted": str(p), "count": int(matrix[i][j])}
            for i, a in enumerate(labels)
            for j, p in enumerate(labels)
        ]
    except (TypeError, IndexError, ValueError):
        return []


def roc_rows(card: dict) -> list[dict]:
    roc = card.get("roc") or {}
    fpr, tpr = roc.get("fpr"), roc.get("tpr")
    if not isinstance(fpr, list) or not isinstance(tpr, list) or len(fpr) != len(tpr):
        return []
    return [
        {"false positive rate": float(f), "true positive rate": float(t)}
        for f, t in zip(fpr, tpr, strict=True)
        if number(f) is not None and number(t) is not None
    ]


def calibration_rows(card: dict) -> list[dict]:
    bins = (card.get("calibration") or {}).get("bins") or []
    return [
        {
            "confidence": float(b["confidence"]),
            "accuracy": float(b["accuracy"]),
            "count": int(b.get("count", 0)),
        }
        for b in bins
        if isinstance(b, dict)
        and number(b.get("confidence")) is not None
        and number(b.get("accuracy")) is not None
    ]


def robustness_rows(card: dict) -> list[dict]:
    rows = card.get("robustness") or []
    return [
        {k: row.get(k) for k in ("edit", "accuracy", "roc_auc") if k in row}
        for row in rows
        if isinstance(row, dict) and "edit" in row
    ]


def per_source_rows(card: dict) -> list[dict]:
    sources = (card.get("metrics") or {}).get("per_source") or {}
    return [
        {"source": name, **{k: v for k, v in row.items() if number(v) is not None}}
        for name, row in sources.items()
        if isinstance(row, dict)
    ]


def count_rows(card: dict) -> list[dict]:
    """[{split, source, ai, real}] from data.counts {split: {source: {ai, real}}}."""
    counts = (card.get("data") or {}).get("counts") or {}
    rows = []
    for split, sources in counts.items() if isinstance(counts, dict) else []:
        for source, labels in (sources or {}).items() if isinstance(sources, dict) else []:
            if isinstance(labels, dict):
                rows.append(
                    {
                        "split": split,
                        "source": source,
                        "ai": int(labels.get("ai", 0)),
                        "real": int(labels.get("real", 0)),
                    }
                )
    return rows


def training_facts(card: dict) -> list[tuple[str, str]]:
    training = card.get("training") or {}
    facts = []
    if number(training.get("epochs_run")) is not None:
        facts.append(("Epochs", f"{int(training['epochs_run'])}"))
    if number(training.get("seconds")) is not None:
        facts.append(("Training time", f"{training['seconds'] / 60:.1f} min"))
    if number(training.get("images_per_second")) is not None:
        facts.append(("Training speed", f"{training['images_per_second']:,.0f} images/s"))
    return facts
