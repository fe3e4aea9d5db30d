"""Shared fixtures of the app tests: the app pointed at a tiny published model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import publish_tiny


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return publish_tiny(tmp_path_factory.mktemp("published"))


@pytest.fixture
def env(model_dir, tmp_path, monkeypatch):
    """The app pointed at the tiny model, no examples, no hosts allowed."""
    monkeypatch.setenv("REALORAI_MODEL_DIR", str(model_dir))
    monkeypatch.setenv("REALORAI_EXAMPLES_DIR", str(tmp_path / "no-examples"))
    monkeypatch.setenv("REALORAI_REPORTS_DIR", str(tmp_path / "no-reports"))
    monkeypatch.delenv("REALORAI_ALLOW_HOSTS", raising=False)
    monkeypatch.delenv("PARAMS_OVERLAY", raising=False)
    return monkeypatch
