"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def shared_data_dir() -> Path:
    """../shared/data beside the project (dev and CI only; absent on a user's clone)."""
    return Path(os.environ.get("SHARED_DATA", ROOT.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"needs the development data folder {path} (absent on a fresh clone)")
    return path


@pytest.fixture(scope="session")
def cifake_zip(shared_data) -> Path:
    path = shared_data / "cifake.zip"
    if not path.is_file():
        pytest.skip(f"needs {path}")
    return path


@pytest.fixture(scope="session")
def webscrape_dir(shared_data) -> Path:
    path = shared_data / "webscrape"
    if not path.is_dir():
        pytest.skip(f"needs {path}")
    return path


@pytest.fixture(scope="session")
def standin_pictures(tmp_path_factory) -> Path:
    """The pictures behind the Google Images stand-in: ../shared/data/webscrape when
    present, else 70 generated pictures per label (a user's clone has no ../shared)."""
    shared = shared_data_dir() / "webscrape"
    if shared.is_dir():
        return shared
    from tests.helpers import make_image

    root = tmp_path_factory.mktemp("webscrape")
    for label in ("ai", "real"):
        (root / label).mkdir()
        for i in range(70):
            seed = i + (1000 if label == "ai" else 0)
            (root / label / f"{label}-{i}.jpg").write_bytes(make_image(160, 120, seed=seed))
    return root


@pytest.fixture(scope="session")
def chromium_available() -> None:
    missing = [b for b in ("chromium", "chromedriver") if shutil.which(b) is None]
    if missing:
        pytest.skip(f"needs {' and '.join(missing)} (make test installs them with apt-get)")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave things worth a look (screenshots); kept after the run."""
    path = ROOT / "test-output"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def standin(standin_pictures):
    """The URL of a running Google Images stand-in (devtools.standin) serving the pictures."""
    from devtools.standin import running

    with running(standin_pictures) as url:
        yield url


@pytest.fixture(scope="session")
def evaluated_template(tmp_path_factory) -> Path:
    """A tiny project through train, evaluate, logo, train_web and evaluate_web, built
    once: the stages are deterministic, and tests only read it through `evaluated`'s copy."""
    from pipeline import evaluate, evaluate_web, logo, train, train_web
    from tests.helpers import make_project

    root = tmp_path_factory.mktemp("evaluated")
    with pytest.MonkeyPatch.context() as patch:
        make_project(root, patch, augment=False)
        for stage in (train, evaluate, logo, train_web, evaluate_web):
            stage.main()
    return root


@pytest.fixture
def evaluated(evaluated_template, tmp_path, monkeypatch) -> Path:
    """A private copy of `evaluated_template`, the working directory while the test runs."""
    project = tmp_path / "project"
    shutil.copytree(evaluated_template, project, symlinks=True)
    monkeypatch.chdir(project)
    monkeypatch.delenv("PARAMS_OVERLAY", raising=False)
    return project
