"""DVC stage scrape@<keyword>: Google Images for one keyword of params.yaml.

    python -m pipeline.scrape <keyword-name>

Writes data/scraped/<keyword-name>/ (pictures + manifest.jsonl). The folder
persists between runs (dvc.yaml `persist: true`): a killed or extended run
resumes, and a changed query or label replaces the old keyword's pictures.
"""

from __future__ import annotations

import sys
from pathlib import Path

from scraper.collect import collect, settings_from
from scraper.errors import ScrapeError
from settings import params
from settings.errors import run

OUT_ROOT = Path("data/scraped")


def main(argv=None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise ScrapeError(
            "usage: python -m pipeline.scrape <keyword-name> (a key of scrape.keywords)"
        )
    name = args[0]
    settings = params.load("scrape")
    keyword = settings.keywords.get(name)
    if keyword is None:
        known = ", ".join(settings.keywords)
        raise ScrapeError(f"unknown keyword '{name}' (scrape.keywords has: {known})")
    report = collect(
        keyword.query, keyword.label, OUT_ROOT / name, limit=settings.limit,
        workers=settings.workers, **settings_from(settings),
    )  # fmt: skip
    print(f"scrape@{name}: {report.summary()}", flush=True)
    if report.error:
        # What was saved stays (the folder persists); a rerun resumes from it.
        raise ScrapeError(report.error)


if __name__ == "__main__":
    run(main, "scrape")
