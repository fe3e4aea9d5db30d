"""DVC stage `merge`: CIFAKE + scraped keywords in one manifest, duplicates marked."""

from __future__ import annotations

import time

from dataset.merge import OUT, merge
from settings import params
from settings.errors import run


def main() -> None:
    scrape = params.load("scrape")
    settings = params.load("merge")
    start = time.perf_counter()
    summary = merge(
        {name: keyword.label for name, keyword in scrape.keywords.items()},
        settings.near_duplicate_distance,
        settings.scraped_test_fraction,
    )
    kept = sum(
        n
        for per_source in summary["kept"].values()
        for c in per_source.values()
        for n in c.values()
    )
    duplicates = summary["duplicates_removed"]
    skipped = sum(n for reasons in summary["skipped"].values() for n in reasons.values())
    print(
        f"merge: {kept:,} pictures kept, {duplicates['total']:,} duplicates removed "
        f"({duplicates['exact_within_split'] + duplicates['exact_across_split']:,} exact, "
        f"{duplicates['near_within_split'] + duplicates['near_across_split']:,} near; "
        f"{duplicates['exact_across_split'] + duplicates['near_across_split']:,} across splits), "
        f"{skipped:,} skipped, {time.perf_counter() - start:.1f} s -> {OUT}"
    )


if __name__ == "__main__":
    run(main, "merge")
