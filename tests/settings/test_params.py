"""params.yaml is checked when loaded: every bad key ends in one line that names it."""

from __future__ import annotations

import copy
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from settings import params
from settings.params import ParamsError
from tests.helpers import ROOT

SHIPPED = yaml.safe_load((ROOT / "params.yaml").read_text())


def _write(tmp_path, raw) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _scalar_keys():
    """(section, key, value) for every scalar setting in the shipped params.yaml."""
    for section, values in SHIPPED.items():
        for key, value in values.items():
            if not isinstance(value, (dict, list)):
                yield section, key, value


def _wrong_type(value):
    if isinstance(value, bool):
        return "yes please"
    if isinstance(value, (int, float)):
        return "many"
    if isinstance(value, str):
        return 12
    return ["not", "a", "scalar"]  # e.g. webdriver_url: null must be a string or nothing


@pytest.mark.parametrize("section", sorted(SHIPPED))
def test_shipped_params_load(section):
    assert dataclasses.is_dataclass(params.load(section, ROOT / "params.yaml"))


@pytest.mark.parametrize(("section", "key", "value"), list(_scalar_keys()))
def test_every_key_with_a_wrong_type_is_named(tmp_path, section, key, value):
    raw = copy.deepcopy(SHIPPED)
    raw[section][key] = _wrong_type(value)
    with pytest.raises(ParamsError, match=rf"^{section}\.{key} must be") as caught:
        params.load(section, _write(tmp_path, raw))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("preprocess", "image_size", 0),
        ("scrape", "limit", -1),
        ("scrape", "workers", 0),
        ("preprocess", "val_fraction", 1.5),
        ("preprocess", "balance", "magic"),
        ("merge", "near_duplicate_distance", 40),
        ("merge", "scraped_test_fraction", 1.5),
        ("train", "epochs", 0),
        ("train", "architecture", "vgg99"),
        ("train", "learning_rate", 0),
        ("app", "uncertain_band", 2),
        ("publish", "min_accuracy", 1.2),
        ("train", "classes", 4),
        ("train", "classes", 1),
        ("modify", "fraction", 0),
        ("modify", "fraction", 1.5),
        ("modify", "feather", 0.8),
        ("modify", "colour", -0.1),
        ("modify", "seed", -1),
        ("modify", "kinds", ["blur", "smudge"]),
        ("modify", "kinds", ["blur", "blur"]),
        ("modify", "kinds", []),
        ("modify", "kinds", "blur"),
        ("modify", "region_sides", [0.25, 0.75]),
        ("modify", "region_sides", []),
        ("modify", "blur_sigma", [2.0, 1.0]),
        ("modify", "blur_sigma", [0.0, 1.0]),
        ("modify", "brightness", [0.1]),
        ("modify", "brightness", [0.1, 1.5]),
    ],
)
def test_impossible_values_are_named(tmp_path, section, key, value):
    raw = copy.deepcopy(SHIPPED)
    raw[section][key] = value
    with pytest.raises(ParamsError, match=rf"^{section}\.{key} must"):
        params.load(section, _write(tmp_path, raw))


@pytest.mark.parametrize("section", sorted(SHIPPED))
def test_unknown_key_is_named(tmp_path, section):
    raw = copy.deepcopy(SHIPPED)
    raw[section]["epochz"] = 3
    with pytest.raises(ParamsError, match=rf"^{section}\.epochz is not a known setting"):
        params.load(section, _write(tmp_path, raw))


def test_keyword_entries_are_checked(tmp_path):
    raw = copy.deepcopy(SHIPPED)
    raw["scrape"]["keywords"]["art-real"]["label"] = "fake"
    with pytest.raises(ParamsError, match=r"^scrape\.keywords\.art-real\.label must be one of"):
        params.load("scrape", _write(tmp_path, raw))
    del raw["scrape"]["keywords"]["art-real"]["label"]
    raw["scrape"]["keywords"]["art-ai"].pop("group")
    with pytest.raises(ParamsError, match=r"^scrape\.keywords\.art-ai\.group is missing"):
        params.load("scrape", _write(tmp_path, raw))


def test_filters_need_four_blocks(tmp_path):
    raw = copy.deepcopy(SHIPPED)
    raw["train"]["filters"] = [32, 64]
    with pytest.raises(ParamsError, match=r"^train\.filters must be four"):
        params.load("train", _write(tmp_path, raw))


def test_unknown_section_and_bad_yaml(tmp_path):
    with pytest.raises(ParamsError, match="unknown section 'trian'"):
        params.load("train", _write(tmp_path, {**SHIPPED, "trian": {}}))
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML at line"):
        params.load("train", bad)


def test_overlay_is_merged_and_checked(tmp_path, monkeypatch):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("cifake: {source: /data/cifake.zip}\n")
    monkeypatch.setenv(params.OVERLAY_ENV, str(overlay))
    assert params.load("cifake", ROOT / "params.yaml").source == "/data/cifake.zip"
    overlay.write_text("cifake: {sauce: x}\n")
    with pytest.raises(ParamsError, match=r"^cifake\.sauce is not a known setting"):
        params.load("cifake", ROOT / "params.yaml")


def test_a_stage_reports_a_bad_key_in_one_line(tmp_path):
    raw = copy.deepcopy(SHIPPED)
    raw["train"]["epochs"] = "ten"
    _write(tmp_path, raw)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from settings import params; from settings.errors import run; "
            "run(lambda: params.load('train'), 'train')",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: train: train.epochs must be an integer, got str 'ten'"


def _fields(cls, prefix: str):
    """Dotted names of every setting of a section's dataclass, nested ones included."""
    for f in dataclasses.fields(cls):
        nested = f.default_factory if f.default_factory is not dataclasses.MISSING else None
        if nested is not None and dataclasses.is_dataclass(nested):
            yield from _fields(nested, f"{prefix}.{f.name}")
        else:
            yield f"{prefix}.{f.name}"


def _written(raw: dict, dotted: str) -> bool:
    node = raw
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


@pytest.mark.parametrize("section", sorted(params.SECTIONS))
def test_every_setting_is_written_in_params_yaml(section):
    """No hidden defaults: a user reads every setting that runs in params.yaml."""
    missing = [d for d in _fields(params.SECTIONS[section], section) if not _written(SHIPPED, d)]
    assert not missing, f"params.yaml lacks {missing}"


def test_every_keyword_names_its_group():
    for raw in (SHIPPED, yaml.safe_load((ROOT / "params.offline.yaml").read_text())):
        for name, keyword in raw["scrape"]["keywords"].items():
            assert keyword.get("group"), name


def test_a_look_alike_key_is_shown_escaped(tmp_path):
    """A section named with a Cyrillic 'а' reads like the real one unless escaped."""
    path = tmp_path / "params.yaml"
    path.write_text("tr\u0430in:\n  epochs: 1\n")
    with pytest.raises(ParamsError, match=r"'tr\\u0430in'") as raised:
        params.read_yaml(path)
    assert str(raised.value).isascii()


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [("app", "url_timeout_s", "1.0e+10"), ("scrape", "download_timeout_s", "1.0e+10"),
     ("train", "epochs", "100000000"), ("publish", "examples", "13")],
)  # fmt: skip
def test_every_duration_and_size_has_a_maximum(tmp_path, section, key, value):
    base = params.read_yaml(ROOT / "params.yaml")
    lines = yaml.safe_dump({**base, section: {**base[section], key: yaml.safe_load(value)}})
    path = tmp_path / "params.yaml"
    path.write_text(lines)
    with pytest.raises(ParamsError, match=rf"{section}\.{key} must be at most"):
        params.load(section, path)


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("web", "head", "forest", r"^web\.head must be one of"),
        ("web", "crops", 0, r"^web\.crops must be at least 1"),
        ("web", "crops", 1.5, r"^web\.crops must be"),
        ("logo", "alpha", [0.1, 0.0], r"^logo\.C and logo\.alpha must list positive numbers"),
        ("logo", "recipes", ["rank_early", "boost"], r"^logo\.recipes must name recipes of"),
    ],
)
def test_the_web_heads_settings_are_checked(tmp_path, section, key, value, message):
    raw = copy.deepcopy(SHIPPED)
    raw[section][key] = value
    with pytest.raises(ParamsError, match=message):
        params.load(section, _write(tmp_path, raw))
