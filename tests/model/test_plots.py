"""model/plots.py: each chart is a valid PNG, drawn from the JSON and TSV files the stages
write; and `dvc plots show` on the project's dvc.yaml makes a page that loads nothing from
the web (Vega plots load their scripts from a CDN: blank offline)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from PIL import Image

from model import plots
from tests.helpers import ROOT
from tests.test_layout import tool

ROC = [{"fpr": 0.0, "tpr": 0.0}, {"fpr": 0.1, "tpr": 0.7}, {"fpr": 1.0, "tpr": 1.0}]
PR = [{"recall": 1.0, "precision": 0.5}, {"recall": 0.6, "precision": 0.9}]
CONFUSION = {"labels": ["ai", "real"], "matrix": [[40, 3], [5, 52]]}
BINS = [
    {"confidence": 0.6, "accuracy": 0.55, "count": 10},
    {"confidence": 0.9, "accuracy": 0.92, "count": 90},
]
ROBUSTNESS = [
    {"edit": "none", "n": 100, "accuracy": 0.95, "roc_auc": 0.99},
    {"edit": "jpeg q50", "n": 100, "accuracy": 0.9, "roc_auc": None},
]


def assert_png(path: Path) -> tuple[int, int]:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) >= 100
        return image.size


def write_reports(root: Path) -> None:
    """Tiny reports as the evaluate, evaluate_web and training stages write them."""
    evaluation, web = root / "reports/evaluation", root / "reports/evaluation_web"
    evaluation.mkdir(parents=True)
    web.mkdir(parents=True)
    files = {
        evaluation / "roc.json": {"roc": ROC},
        evaluation / "pr.json": {"pr": PR},
        evaluation / "confusion.json": CONFUSION,
        evaluation / "reliability.json": {"reliability": BINS},
        evaluation / "robustness.json": {"robustness": ROBUSTNESS},
        web / "roc.json": {},  # no held-out group: the stage writes an empty table
        web / "reliability.json": {"reliability": BINS},
    }
    for path, content in files.items():
        path.write_text(json.dumps(content))
    for name in ("train", "val"):  # only the whole view trains by epochs (the web head is fitted)
        folder = root / "reports/train/plots/metrics" / name
        folder.mkdir(parents=True)
        (folder / "loss.tsv").write_text("step\tloss\n0\t0.7\n1\t0.5\n2\tbad\n")
    (root / "reports/train/plots/metrics/images_per_second.tsv").write_text(
        "step\timages_per_second\n0\t100\n"
    )


@pytest.mark.parametrize(
    "draw",
    [
        lambda p: plots.roc(ROC, p),
        lambda p: plots.precision_recall(PR, p),
        lambda p: plots.confusion(CONFUSION, p),
        lambda p: plots.reliability(BINS, p),
        lambda p: plots.robustness(ROBUSTNESS, p),
        lambda p: plots.roc([], p),  # no data: still a chart, saying so
        lambda p: plots.confusion({}, p),
        lambda p: plots.reliability([], p),
        lambda p: plots.robustness([], p),
        lambda p: plots.training(p.parent / "no-such-folder", p),
    ],
    ids=["roc", "pr", "confusion", "reliability", "robustness", "roc-empty", "confusion-empty",
         "reliability-empty", "robustness-empty", "training-empty"],
)  # fmt: skip
def test_each_chart_is_a_png(tmp_path, draw):
    path = draw(tmp_path / "sub" / "chart.png")
    assert path == tmp_path / "sub" / "chart.png"
    assert_png(path)
    assert [p.name for p in path.parent.iterdir()] == ["chart.png"]  # no temporary left


def test_training_curves_have_a_panel_per_metric_and_a_line_per_series(tmp_path):
    write_reports(tmp_path)
    curves = plots.read_curves(tmp_path / "reports/train/plots/metrics")
    points = [(0, 0.7), (1, 0.5)]  # the unreadable row left out
    assert curves == {"loss": {"train": points, "val": points}}
    one = assert_png(plots.training_figure("train", tmp_path / "reports/train", tmp_path / "a"))
    (tmp_path / "reports/train/plots/metrics/val/auc.tsv").write_text("step\tauc\n0\t0.9\n")
    two = assert_png(plots.training_figure("train", tmp_path / "reports/train", tmp_path / "b"))
    assert two[0] > one[0]  # two metrics side by side


def test_only_the_whole_view_has_training_curves():
    """The web view's head is a logistic regression fitted once: no epochs to draw."""
    assert set(plots.TRAINING) == {"train"}
    with pytest.raises(KeyError):
        plots.training_figure("train_web", "reports/train_web")


def test_the_stages_charts_come_from_their_reports(tmp_path, monkeypatch):
    write_reports(tmp_path)
    monkeypatch.chdir(tmp_path)
    plots.main()
    names = sorted(p.name for p in (tmp_path / plots.FIGURES).iterdir())
    assert names == sorted(
        ["roc.png", "precision_recall.png", "confusion.png", "reliability.png", "robustness.png",
         "web_roc.png", "web_reliability.png", "training.png"]
    )  # fmt: skip
    for name in names:
        assert_png(tmp_path / plots.FIGURES / name)


def image_plots(dvc_yaml: dict) -> list[str]:
    """The plot files the stages of dvc.yaml declare."""
    found = []
    for stage in dvc_yaml["stages"].values():
        for entry in stage.get("do", stage).get("plots", []):
            found.append(entry if isinstance(entry, str) else next(iter(entry)))
    return found


def test_the_projects_plots_are_images_declared_uncached_or_data_pictures():
    dvc_yaml = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    assert "plots" not in dvc_yaml  # top-level plots are Vega templates
    declared = image_plots(dvc_yaml)
    assert declared and all(p.endswith(".png") for p in declared)
    figures = [p for p in declared if p.startswith(str(plots.FIGURES))]
    drawn = {
        *("roc", "precision_recall", "confusion", "reliability", "robustness", "training"),
        *("web_roc", "web_reliability", "modified", "modified_confusion"),
    }
    assert {Path(f).stem for f in figures} == drawn  # every chart the stages draw, declared
    for stage in dvc_yaml["stages"].values():
        for entry in stage.get("plots", []):
            if isinstance(entry, dict) and next(iter(entry)) in figures:
                assert next(iter(entry.values())) == {"cache": False}  # committed to git


def test_dvc_plots_show_makes_a_page_that_loads_nothing_from_the_web(tmp_path, monkeypatch):
    if shutil.which("git") is None:
        pytest.skip("needs git")
    dvc = tool("dvc")  # before chdir: the venv's path may be relative
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, repo / name)
    write_reports(repo)
    monkeypatch.chdir(repo)
    plots.main()
    declared = image_plots(yaml.safe_load((repo / "dvc.yaml").read_text()))
    for name in declared:  # the data pictures (samples, worst mistakes): any small PNG
        if not (repo / name).exists():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (8, 8)).save(repo / name)
    for cmd in (["git", "init", "-q"], [dvc, "init", "-q"]):
        subprocess.run(cmd, cwd=repo, check=True, capture_output=True, timeout=120)
    done = subprocess.run(
        [dvc, "plots", "show", "-o", "page"], cwd=repo, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    html = (repo / "page" / "index.html").read_text()
    assert not re.findall(r"https?://", html), re.findall(r"\S*https?://\S*", html)[:5]
    assert "<script" not in html
    assert html.count("<img") == len(declared)
    for source in re.findall(r'<img src="([^"]+)"', html):
        assert (repo / "page" / source).is_file()  # every picture is a local file
