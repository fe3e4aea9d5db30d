"""Settings files are read strictly: what would hang, mislead or crash the loader is one
ParamsError line naming the key, in params.yaml and in a PARAMS_OVERLAY file alike."""

from __future__ import annotations

import pytest

from settings import params, strict_yaml
from settings.params import ParamsError
from tests.helpers import ROOT

SHIPPED = (ROOT / "params.yaml").read_text()
# Nine levels of nine aliases: a billion strings once expanded (or printed).
LAUGHS = "lol0: &a0 [lol]\n" + "".join(
    f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
)


def _params(tmp_path, text: str, name="params.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _refused(path, section: str = "train", match: str | None = None) -> str:
    with pytest.raises(ParamsError, match=match) as caught:
        params.load(section, path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def _with_overlay(tmp_path, monkeypatch, text: str):
    monkeypatch.setenv(params.OVERLAY_ENV, str(_params(tmp_path, text, "overlay.yaml")))
    return ROOT / "params.yaml"


@pytest.mark.timeout(30)
def test_aliases_are_refused_not_expanded(tmp_path, monkeypatch):
    laughs = "    " + LAUGHS.replace("\n", "\n    ")
    text = SHIPPED.replace("\ntrain:\n", f"\ntrain:\n  filters:\n{laughs}\n", 1)
    text = text.replace("  filters: [32, 64, 128, 256]\n", "", 1)
    message = _refused(_params(tmp_path, text), match="alias")
    assert "params.yaml: train.filters.lol1[0] uses a YAML alias (line" in message
    overlay = _with_overlay(tmp_path, monkeypatch, f"publish:\n  examples:\n{laughs}\n")
    assert "overlay.yaml: publish.examples.lol1[0] uses a YAML alias" in _refused(overlay)


def test_keys_that_are_not_names_are_refused(tmp_path, monkeypatch):
    text = SHIPPED.replace("\ntrain:\n", "\ntrain:\n  1: one\n  null: nothing\n", 1)
    assert "key '1' in train must be a name" in _refused(_params(tmp_path, text))
    message = _refused(_with_overlay(tmp_path, monkeypatch, "train:\n  null: 3\n  2: 4\n"))
    assert "key 'null' in train must be a name" in message


def test_a_number_too_long_for_python_is_one_line(tmp_path, monkeypatch):
    text = SHIPPED.replace("  epochs: 24", "  epochs: " + "9" * 5000, 1)
    assert "train.epochs is a number too long" in _refused(_params(tmp_path, text))
    overlay = _with_overlay(tmp_path, monkeypatch, "train:\n  learning_rate: 0." + "1" * 5000)
    assert "train.learning_rate is a number too long" in _refused(overlay)


def test_empty_sections_in_either_file(tmp_path, monkeypatch):
    # An overlay section with every line commented out changes nothing...
    overlay = _with_overlay(tmp_path, monkeypatch, "app:\n  # max_upload_mb: 5\n")
    assert params.load("app", overlay) == params.load("app", ROOT / "params.yaml")
    # ...and an overlay's values over an empty section of params.yaml are its values.
    base = _params(tmp_path, SHIPPED[: SHIPPED.index("\napp:\n")] + "\napp:\n")
    _with_overlay(tmp_path, monkeypatch, "app:\n  max_upload_mb: 5\n")
    assert params.load("app", base).max_upload_mb == 5
    _with_overlay(tmp_path, monkeypatch, "app: [5]\n")
    assert "overlay.yaml: section 'app' must be a mapping" in _refused(base, "app")


def test_duplicate_keys_are_refused(tmp_path, monkeypatch):
    text = SHIPPED.replace("  epochs: 24\n", "  epochs: 24\n  epochs: 2\n", 1)
    assert "train.epochs is given twice (lines" in _refused(_params(tmp_path, text))
    overlay = _with_overlay(tmp_path, monkeypatch, "cifake:\n  source: a\n  source: b\n")
    assert "overlay.yaml: cifake.source is given twice" in _refused(overlay, "cifake")
    sections = SHIPPED + "\ncifake:\n  source: kaggle\n"
    assert "cifake is given twice" in _refused(_params(tmp_path, sections))


def test_a_huge_file_is_refused_before_parsing(tmp_path):
    padding = "# a comment line that YAML would have to scan\n" * 3000  # ~140 kB
    message = _refused(_params(tmp_path, SHIPPED + padding))
    assert (
        message == f"{tmp_path / 'params.yaml'}: too large for a settings file (over 100,000 bytes)"
    )
    assert len(SHIPPED) < strict_yaml.MAX_FILE_BYTES / 5


def test_bytes_that_are_not_text_or_nest_too_deep(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_bytes(SHIPPED.encode() + b"# caf\xe9\n")
    assert "not UTF-8 text" in _refused(path)
    assert "nested too deeply" in _refused(_params(tmp_path, "train: " + "[" * 40000 + "]" * 40000))
