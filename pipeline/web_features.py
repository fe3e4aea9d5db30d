"""DVC stage `web_features`: merge's scraped pictures + data/backbone -> data/web/ (each
picture's frozen backbone features, whole and as a small copy, with its group and
split; dataset/web.py owns the format)."""

from __future__ import annotations

from settings import params
from settings.errors import run


def main() -> None:
    scrape, web = params.load("scrape"), params.load("web")
    whole_size = params.load("preprocess").image_size
    from dataset import merge
    from dataset import web as store
    from model.web_features import Extractor, scraped_rows, store_features
    from model.web_view import load_backbone

    frame = merge.load_manifest(columns=merge.WEB_COLUMNS)
    rows = scraped_rows(frame, {name: k.group for name, k in scrape.keywords.items()})
    backbone, info = load_backbone()
    extractor = Extractor(backbone, info["image_size"])
    summary = store_features(rows, extractor, web.batch_size, whole_size, web.crops)
    groups = ", ".join(sorted({g for s in summary["counts"].values() for g in s}))
    print(
        f"web_features: {summary['pictures']:,} web pictures ({len(summary['failed'])} failed) "
        f"through {info['backbone']} at {info['image_size']} px -> {store.OUT} (groups: {groups})"
    )


if __name__ == "__main__":
    run(main, "web_features")
