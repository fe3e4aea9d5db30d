"""DVC stage `preprocess`: data/prepared/ ({train,val,test}.x.npy + .npz, meta.json) and
reports/dataset.json."""

from __future__ import annotations

import time

from dataset.preprocess import OUT, preprocess
from settings import params
from settings.errors import run


def main() -> None:
    settings = params.load("preprocess")
    start = time.perf_counter()
    report = preprocess(settings.image_size, settings.val_fraction, settings.balance, settings.seed)
    sizes = ", ".join(f"{split} {n:,}" for split, n in report["total"].items())
    print(
        f"preprocess: {sizes} pictures of {settings.image_size}x{settings.image_size}, "
        f"balance {settings.balance}, {time.perf_counter() - start:.1f} s -> {OUT}"
    )


if __name__ == "__main__":
    run(main, "preprocess")
