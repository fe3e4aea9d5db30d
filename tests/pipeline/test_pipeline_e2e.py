"""End to end: the real `dvc repro` in a temporary git repository, on a small sample.

The project is copied into a fresh repository; CIFAKE is a few hundred pictures
sampled from ../shared/data/cifake.zip (generated pictures without it), and the
scrape stages search the local Google Images stand-in with real headless Chromium.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from devtools.standin import running
from settings import params
from tests.conftest import shared_data_dir
from tests.helpers import ROOT, installed_backbone

KEYWORDS = {  # two groups of an ai and a real keyword: leave-one-group-out holds each out
    "ai-art": {"query": "ai generated images", "label": "ai", "group": "art"},
    "animals": {"query": "animals", "label": "real", "group": "art"},
    "ai-people": {"query": "ai generated people", "label": "ai", "group": "people"},
    "people": {"query": "people", "label": "real", "group": "people"},
}
PER_CLASS = {"train": 120, "test": 40}


def run(args, cwd, timeout=900):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t")
    env.update(GIT_COMMITTER_EMAIL="t@t", PYTHONPATH="")
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    tail = f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    assert result.returncode == 0, f"{args} failed:\n{tail}"
    return result.stdout + result.stderr


def ran_stages(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def project_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    skip = ("published/", "reports/", "dvc.lock", "test-output/", "docs/")
    return [f for f in listed if f and not f.startswith(skip) and (ROOT / f).is_file()]


def small_cifake(dest: Path) -> Path:
    """A CIFAKE-shaped zip: real members sampled from the shared archive, or generated."""
    source = shared_data_dir() / "cifake.zip"
    out = dest / "cifake-sample.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        if source.is_file():
            _sample_members(source, target)
        else:
            _generated_members(target)
    return out


def _sample_members(source: Path, target: zipfile.ZipFile) -> None:
    with zipfile.ZipFile(source) as archive:
        names = sorted(n for n in archive.namelist() if n.lower().endswith(".jpg"))
        for split, count in PER_CLASS.items():
            for label in ("REAL", "FAKE"):
                part = f"{split}/{label}/"
                members = [n for n in names if part in n][:count]
                for name in members:
                    target.writestr(name, archive.read(name))


def _generated_members(target: zipfile.ZipFile) -> None:
    rng = np.random.default_rng(0)
    for split, count in PER_CLASS.items():
        for label in ("REAL", "FAKE"):
            for i in range(count):
                # Real: smooth colour fields; fake: the same plus fine texture.
                base = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
                image = np.asarray(Image.fromarray(base).resize((32, 32), Image.BICUBIC))
                if label == "FAKE":
                    image = np.clip(image + rng.normal(0, 25, image.shape), 0, 255)
                buffer = io.BytesIO()
                Image.fromarray(image.astype(np.uint8)).save(buffer, "JPEG", quality=90)
                target.writestr(f"{split}/{label}/{i} ({label}).jpg", buffer.getvalue())


@pytest.fixture(scope="module")
def standin(standin_pictures):
    with running(standin_pictures) as url:
        yield f"{url}/search"


@pytest.fixture(scope="module")
def repo(tmp_path_factory, standin, chromium_available):
    dest = tmp_path_factory.mktemp("pipeline") / "project"
    for name in project_files():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["scrape"].update(
        keywords=KEYWORDS,
        limit=8,
        workers=2,
        search_url=standin,
        allow_hosts=["127.0.0.1"],
        host_delay_s=0.0,
        click_pause_s=0.0,
        query_pause_s=0.0,
        max_scroll_rounds=3,
    )
    # half the web pictures in test, so the held-out group has both labels there
    params["merge"]["scraped_test_fraction"] = 0.5
    params["cifake"]["source"] = str(small_cifake(dest.parent))
    params["train"].update(epochs=1, batch_size=64)
    params["publish"].update(min_accuracy=0.0, min_web_auc=0.0, examples=4)
    params["web"].update(image_size=64, batch_size=8)  # Lite0 at 64 px: a quick backbone
    # the feature recipes only (cnn36 would train a CNN per group): the DAG is the same
    params["logo"].update(recipes=["container", "head", "head_mid"], C=[1.0], seeds=[1],
                          bootstrap=100)  # fmt: skip
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "init", "-q", "-b", "main"], dest)
    run(["git", "add", "-A"], dest)
    run(["git", "commit", "-qm", "copy"], dest)
    return dest


@pytest.fixture(scope="module")
def first_run(repo):
    return run(["dvc", "repro"], repo)


def test_every_stage_runs_and_writes_its_outputs(repo, first_run):
    expected = {f"scrape@{k}" for k in KEYWORDS} | {
        "cifake",
        "merge",
        "preprocess",
        "modify",
        "train",
        "evaluate",
        "backbone",
        "web_features",
        "logo",
        "train_web",
        "evaluate_web",
        "publish",
    }
    assert ran_stages(first_run) == expected
    for name, keyword in KEYWORDS.items():
        lines = (repo / "data/scraped" / name / "manifest.jsonl").read_text().splitlines()
        records = [json.loads(line) for line in lines]
        assert records and {r["label"] for r in records} == {keyword["label"]}
    for split in ("train", "val", "test"):
        x = np.load(repo / "data/prepared" / f"{split}.x.npy")
        assert x.shape[1:] == (36, 36, 3) and x.dtype == np.uint8
        modified = np.load(repo / "data/modified" / f"{split}.x.npy")
        assert modified.shape[1:] == (36, 36, 3) and len(modified) > 0
    dataset = json.loads((repo / "reports/dataset.json").read_text())
    assert dataset
    card = json.loads((repo / "published/model_card.json").read_text())
    assert 0.0 <= card["views"]["whole"]["metrics"]["accuracy"] <= 1.0
    web = card["views"]["web"]
    assert set(web["metrics"]["logo"]["folds"]) == {"art", "people"}  # each group held out
    assert web["backbone"] == installed_backbone(
        params.load("web", repo / "params.yaml").backbone.name
    )
    assert web["image_size"] == 64
    assert set(web["comparison"]) == {"container", "head", "head_mid"}
    published = {p.name for p in (repo / "published").iterdir()}
    assert {"model.keras", "web_head.keras", "model_card.json"} <= published
    assert "backbone.keras" not in published  # rebuilt from the pinned package when loaded


def test_metrics_are_readable_by_dvc(repo, first_run):
    shown = json.loads(run(["dvc", "metrics", "show", "--json"], repo))
    files = {f for rev in shown.values() for f in rev.get("data", {})}
    assert {"reports/dataset.json", "reports/metrics.json", "reports/train/metrics.json",
            "reports/web_metrics.json", "reports/logo.json"} <= files  # fmt: skip


def test_repro_with_nothing_changed_runs_nothing(repo, first_run):
    output = run(["dvc", "repro"], repo)
    assert ran_stages(output) == set()


def test_changing_one_keyword_reruns_only_that_keyword_and_what_follows(repo, first_run):
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["scrape"]["keywords"]["animals"]["query"] = "cityscape"
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    output = run(["dvc", "repro"], repo)
    ran = ran_stages(output)
    assert "scrape@animals" in ran and {"merge", "preprocess", "train", "train_web"} <= ran
    assert {"web_features", "logo", "evaluate_web", "publish"} <= ran
    assert "scrape@ai-art" not in ran and "cifake" not in ran
    assert "backbone" not in ran  # the pinned weights do not depend on the pictures
    records = (repo / "data/scraped/animals/manifest.jsonl").read_text().splitlines()
    assert {json.loads(r)["query"] for r in records} == {"cityscape"}


def test_changing_the_heads_setting_reruns_only_the_web_head(repo, first_run):
    params = yaml.safe_load((repo / "params.yaml").read_text())
    key = "alpha" if params["web"]["head"] == "rank" else "C"  # the shipped head's setting
    params["web"][key] = 0.5
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    ran = ran_stages(run(["dvc", "repro"], repo))
    assert ran == {"logo", "train_web", "evaluate_web", "publish"}
    logo = json.loads((repo / "reports/logo.json").read_text())
    assert logo["shipped"][key] == 0.5


def test_an_experiment_with_one_setting_changed(repo, first_run):
    output = run(["dvc", "exp", "run", "-S", "train.epochs=2"], repo)
    assert "train" in ran_stages(output) and "cifake" not in ran_stages(output)
