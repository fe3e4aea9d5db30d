"""DVC stage `modify`: data/modified/ (per split, real pictures edited in one region)
from data/prepared/, each split from its own pictures only."""

from __future__ import annotations

from dataset.modified import MODIFIED, make_modified, write_modified
from dataset.prepared import SPLITS, load_split
from settings import params
from settings.errors import run


def main() -> None:
    settings = params.load("modify")
    sets = [make_modified(load_split(name), settings) for name in SPLITS]
    write_modified(sets, settings)
    sizes = ", ".join(f"{s.name} {len(s):,}" for s in sets)
    print(f"modify: {sizes} modified pictures ({', '.join(settings.kinds)}) -> {MODIFIED}")


if __name__ == "__main__":
    run(main, "modify")
