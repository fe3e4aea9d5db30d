"""DVC stage `cifake`: find or download CIFAKE, check it, keep it as data/cifake/cifake.zip."""

from __future__ import annotations

import time

from dataset.cifake import OUT, prepare
from settings import params
from settings.errors import run


def main() -> None:
    settings = params.load("cifake")
    start = time.perf_counter()
    info = prepare(settings.source, settings.kaggle_handle, OUT)
    counts = info["counts"]
    split_counts = ", ".join(
        f"{split} {c['REAL']:,} real / {c['FAKE']:,} ai" for split, c in counts.items()
    )
    skipped = sum(info["skipped"].values())
    print(
        f"cifake: {info['pictures']:,} pictures ({split_counts}), {skipped:,} members skipped, "
        f"{'complete' if info['complete'] else 'NOT the complete published set'}, "
        f"sha256 {info['source_sha256'][:12]}, {time.perf_counter() - start:.1f} s -> {OUT}"
    )


if __name__ == "__main__":
    run(main, "cifake")
