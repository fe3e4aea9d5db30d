"""The README's pipeline graph is the one DVC builds from dvc.yaml, so it cannot drift."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def fold(stage: str) -> str:
    # The README draws one "scrape" node for the scrape@<keyword> stages.
    return stage.split("@", 1)[0]


def dvc_edges() -> set[tuple[str, str]]:
    dot = subprocess.run(
        [sys.executable, "-m", "dvc", "dag", "--dot"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {(fold(a), fold(b)) for a, b in re.findall(r'"([^"]+)" -> "([^"]+)"', dot)}


def readme_edges() -> set[tuple[str, str]]:
    text = (ROOT / "README.md").read_text()
    graph = re.search(r"```mermaid\n(.*?)```", text, re.S).group(1)
    edges = set()
    for line in graph.splitlines():
        nodes = [re.sub(r"\[.*\]", "", part).strip() for part in line.split("-->")]
        edges |= set(zip(nodes, nodes[1:], strict=False))
    return edges


def test_the_readme_graph_is_dvc_dag():
    assert readme_edges() == dvc_edges()
