"""The layout's rules, checked: stages depend on exactly the code they run, the import
layers hold (import-linter), and editing dev tools or the app never re-runs a stage."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devtools.stage_deps import PACKAGES, import_closure
from tests.helpers import ROOT


def tool(name: str) -> str:
    """A command of this venv by absolute path (the tests run commands in other folders)."""
    return str(Path(os.path.abspath(sys.executable)).parent / name)


def stage_code_deps(stage: dict) -> tuple[str, set[str]]:
    """(entry module, the .py deps listed) of one dvc.yaml stage."""
    body = stage.get("do", stage)
    entry = body["cmd"].split("python -m ", 1)[1].split()[0]
    listed = {d for d in body["deps"] if d.endswith(".py")}
    return entry, listed


def stages() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


@pytest.mark.parametrize("name", sorted(stages()))
def test_stage_deps_are_the_code_it_runs(name):
    entry, listed = stage_code_deps(stages()[name])
    # an empty __init__.py is no code: leaving it out keeps the lists short
    needed = {f for f in import_closure(entry) if (ROOT / f).stat().st_size > 0}
    assert not needed - listed, f"dvc.yaml stage {name} misses {sorted(needed - listed)}"
    extra = sorted(listed - needed)
    assert not extra, f"dvc.yaml stage {name} lists code it does not run: {extra}"
    assert not any(d.split("/")[0] in ("app", "devtools") for d in listed)


def test_no_stage_depends_on_a_whole_code_folder():
    for name, stage in stages().items():
        deps = stage.get("do", stage)["deps"]
        assert not [d for d in deps if d.rstrip("/") in PACKAGES], name


def test_import_layers_hold():
    """import-linter's contracts in pyproject.toml: app/pipeline/devtools on top, then
    scraper and model, then dataset, then settings; no library imports an entry point."""
    lint = tool("lint-imports")
    done = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory) -> Path:
    """A clone of the committed project (plus this work tree's code) in its own git repo."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    dest = tmp_path_factory.mktemp("copy") / "project"
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
        text=True, check=True,
    ).stdout.split()  # fmt: skip
    for name in listed:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    for cmd in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"],
    ):
        subprocess.run(cmd, cwd=dest, check=True, capture_output=True)  # fmt: skip
    return dest


def dvc_status(folder: Path) -> str:
    dvc = tool("dvc")
    done = subprocess.run(
        [dvc, "status", "--json"], cwd=folder, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_editing_dev_tools_or_the_app_changes_no_stage(project_copy):
    before = dvc_status(project_copy)
    for name in ("devtools/bench.py", "devtools/standin.py", "app/main.py"):
        with (project_copy / name).open("a") as f:
            f.write("\n# an edit\n")
    after = dvc_status(project_copy)
    assert after == before
    assert "devtools" not in after and "app/" not in after
