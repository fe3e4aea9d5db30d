"""Where the leave-one-group-out study reads and writes (dev tool; not the product).

WEBSCRAPE: the labelled web pool (default ../shared/data/webscrape beside the project);
CIFAKE_ZIP: the CIFAKE archive; GROUP_STUDY_DIR: caches and results (default
bench-output/group_study, ignored by git). Run from the project root:

    python -m devtools.group_study.cache 96 128 192
    python -m devtools.group_study.container
    python -m devtools.group_study.study --name patch128 --view patch --L 128 --crops 4 --epochs 3
    python -m devtools.group_study.summary whole patch128
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
WEBSCRAPE = Path(os.environ.get("WEBSCRAPE", PROJECT.parent / "shared/data/webscrape"))
CIFAKE_ZIP = Path(os.environ.get("CIFAKE_ZIP", PROJECT.parent / "shared/data/cifake.zip"))
WORK = Path(os.environ.get("GROUP_STUDY_DIR", PROJECT / "bench-output/group_study"))
WORK.mkdir(parents=True, exist_ok=True)
