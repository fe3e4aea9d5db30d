"""The code each DVC stage runs, from its entry module's imports; keeps dvc.yaml honest.

    python -m devtools.stage_deps          # print what each stage imports
    python -m devtools.stage_deps --write  # rewrite the .py deps of dvc.yaml to match

A stage depends on the project modules it may import (function-level imports too),
so an edit to the app or to devtools/ re-runs nothing. tests/test_layout.py fails
when dvc.yaml and the imports disagree.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("settings", "dataset", "scraper", "model", "app", "pipeline", "devtools")


def module_file(name: str) -> Path | None:
    """The project file of a dotted module name (a package's __init__.py), or None."""
    path = ROOT.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path) -> set[str]:
    """Project modules a file imports anywhere in it (functions too: they run as well)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # `from pkg import mod` imports pkg.mod when that is a module
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {n for n in names if n.split(".")[0] in PACKAGES and module_file(n)}
    return found


def import_closure(module: str) -> set[str]:
    """Every project file that running `python -m module` may import, relative to ROOT."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += imported_modules(module_file(name))
        # importing a.b.c runs a/__init__.py and a/b/__init__.py first
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
    return {str(module_file(n).relative_to(ROOT)) for n in seen}


def stage_code(entry: str) -> list[str]:
    """The non-empty project files `python -m entry` may import, sorted."""
    return sorted(f for f in import_closure(entry) if (ROOT / f).stat().st_size > 0)


def stages(path: Path = ROOT / "dvc.yaml") -> dict[str, str]:
    """{stage name: entry module} of dvc.yaml."""
    found = {}
    for name, stage in yaml.safe_load(path.read_text())["stages"].items():
        cmd = stage.get("do", stage)["cmd"]
        found[name] = cmd.split("python -m ", 1)[1].split()[0]
    return found


def rewrite(path: Path = ROOT / "dvc.yaml") -> str:
    """dvc.yaml with each stage's .py deps replaced by its import closure (data deps kept)."""
    entries, lines, out, i = stages(path), path.read_text().split("\n"), [], 0
    current = None
    while i < len(lines):
        line = lines[i]
        match = re.match(r"^  ([\w-]+):\s*$", line)
        current = match.group(1) if match else current
        deps = re.match(r"^(\s+)deps:\s*$", line)
        out.append(line)
        i += 1
        if not deps:
            continue
        indent, kept = deps.group(1) + "  ", []
        while i < len(lines) and lines[i].startswith(indent + "- "):
            if not lines[i].strip()[2:].endswith(".py"):
                kept.append(lines[i])
            i += 1
        out += [f"{indent}- {f}" for f in stage_code(entries[current])] + kept
    return "\n".join(out)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        (ROOT / "dvc.yaml").write_text(rewrite())
    else:
        for name, entry in stages().items():
            print(name, " ".join(stage_code(entry)))
