"""The generic checks: numbers must be finite, keys and values print as one short line."""

from __future__ import annotations

import pytest

from settings import params
from settings.checks import build
from settings.params import ParamsError
from tests.helpers import ROOT

SHIPPED = (ROOT / "params.yaml").read_text()


def _load(tmp_path, section: str, text: str):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return params.load(section, path)


@pytest.mark.parametrize("written", [".nan", ".NaN", ".inf", "-.inf", "1.0e+999"])
def test_nan_and_infinity_pass_no_bounded_number(tmp_path, written):
    # nan < 0.0 and nan > 1.0 are both false: without this, a 10% model would publish.
    text = SHIPPED.replace("  min_accuracy: 0.9", f"  min_accuracy: {written}", 1)
    with pytest.raises(ParamsError, match=r"^publish\.min_accuracy must be a finite number"):
        _load(tmp_path, "publish", text)


def test_nan_in_a_list_of_numbers_is_named(tmp_path):
    text = SHIPPED.replace("  C: [0.01, 0.1, 1.0]", "  C: [0.01, .nan, 1.0]", 1)
    assert text != SHIPPED
    with pytest.raises(ParamsError, match=r"^logo\.C\[1\] must be a finite"):
        _load(tmp_path, "logo", text)


def test_an_integer_too_large_for_a_float_is_one_line():
    with pytest.raises(ParamsError, match=r"^publish\.min_accuracy must be a finite number"):
        build(params.Publish, {"min_accuracy": 10**400}, "publish")


def test_a_key_with_a_newline_cannot_forge_a_second_line(tmp_path):
    text = SHIPPED.replace("\ntrain:\n", '\ntrain:\n  "epochs\\nerror: train: all fine": 3\n', 1)
    with pytest.raises(ParamsError) as caught:
        _load(tmp_path, "train", text)
    assert str(caught.value).startswith("train.epochs\\nerror: train: all fine is not a known")
    assert "\n" not in str(caught.value)
    keywords = {"a\nb": {"query": "q", "label": "fake", "group": "g"}}
    with pytest.raises(ParamsError, match=r"^scrape\.keywords\.a\\nb\.label must be one of"):
        build(params.Scrape, {"keywords": keywords, "limit": 1, "workers": 1}, "scrape")


@pytest.mark.timeout(30)
def test_a_huge_value_is_shown_cut_without_being_built_whole():
    laughs: list = ["lol"]
    for _ in range(9):
        laughs = [laughs] * 9  # 9**9 strings if printed in full
    with pytest.raises(ParamsError, match=r"^train\.filters\[0\] must be an integer, got list"):
        build(params.Train, {"filters": laughs}, "train")
    with pytest.raises(ParamsError, match=r"^train\.epochs must be an integer, got list") as e:
        build(params.Train, {"epochs": laughs}, "train")
    assert len(str(e.value)) < 160
