"""The app's settings: params.yaml `app` plus the environment. No Streamlit here.

Environment:
  REALORAI_MODEL_DIR     published model folder (default: published/ at the repository root)
  REALORAI_EXAMPLES_DIR  example pictures (default: <model folder>/examples/)
  REALORAI_REPORTS_DIR   dvclive training curves, reports/<stage>/plots/metrics/ (default: reports/)
  REALORAI_ALLOW_HOSTS   comma-separated hosts the URL input may fetch even though they
                         are private/loopback (default: none; tests serve on 127.0.0.1)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from model.published import EXAMPLES_DIR

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR_ENV = "REALORAI_MODEL_DIR"
EXAMPLES_DIR_ENV = "REALORAI_EXAMPLES_DIR"
REPORTS_DIR_ENV = "REALORAI_REPORTS_DIR"
ALLOW_HOSTS_ENV = "REALORAI_ALLOW_HOSTS"
UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"]
# One megabyte of app.max_upload_mb, as the browser counts it: Streamlit 1.67's uploader
# refuses a file over max_upload_size * 1000**2 bytes (1024**2 only on Windows) and says
# "File must be 20.0MB or smaller", so a 20 MB limit is 20,000,000 bytes everywhere.
MB = 1000 * 1000
# The most one uploaded file may hold in memory (browser MB). Between app.max_upload_mb
# and this the file reaches the app, which counts it and refuses it in one sentence;
# only above it does the browser refuse it (app/refused_uploads.py). At least
# 5x the default limit, so a large camera original gets the app's sentence.
UPLOAD_CAP_MB = 100


@dataclass(frozen=True)
class Settings:
    model_dir: Path
    examples_dir: Path
    reports_dir: Path
    allow_hosts: tuple[str, ...]
    uncertain_band: float
    max_bytes: int
    url_timeout_s: float

    @property
    def max_mb(self) -> float:
        return self.max_bytes / MB

    @property
    def widget_mb(self) -> int:
        """max_mb in whole megabytes (the uploader takes no fractions)."""
        return max(1, math.ceil(self.max_mb))

    @property
    def cap_mb(self) -> int:
        """The uploader's own limit, above max_mb so that a file over max_mb still reaches
        the app (listed, counted, refused in words); bounded, since Streamlit keeps each
        listed file's bytes in memory. .streamlit/config.toml's maxUploadSize covers it."""
        return max(UPLOAD_CAP_MB, self.widget_mb)


def load_settings(env=None) -> Settings:
    """params.yaml `app` (ParamsError, one line, if wrong) plus the environment."""
    from settings import params

    env = os.environ if env is None else env
    app = params.load("app", ROOT / "params.yaml")
    model_dir = Path(env.get(MODEL_DIR_ENV) or ROOT / "published")
    return Settings(
        model_dir=model_dir,
        examples_dir=Path(env.get(EXAMPLES_DIR_ENV) or model_dir / EXAMPLES_DIR),
        reports_dir=Path(env.get(REPORTS_DIR_ENV) or ROOT / "reports"),
        allow_hosts=parse_hosts(env.get(ALLOW_HOSTS_ENV, "")),
        uncertain_band=app.uncertain_band,
        max_bytes=int(app.max_upload_mb * MB),
        url_timeout_s=app.url_timeout_s,
    )


def parse_hosts(text: str) -> tuple[str, ...]:
    return tuple(h.strip() for h in text.split(",") if h.strip())
