"""DVC stage `prepare_web`: merge's scraped pictures -> data/web/ (the patch view's store:
each picture rescaled to web.longer_side, with its keyword group and split)."""

from __future__ import annotations

from settings import params
from settings.errors import run


def main() -> None:
    scrape, web = params.load("scrape"), params.load("web")
    from dataset import merge
    from dataset.web import OUT, prepare

    frame = merge.load_manifest(columns=merge.WEB_COLUMNS)
    frame = frame[frame["keep"] & (frame["source"] == "scraped")]
    groups = {name: keyword.group for name, keyword in scrape.keywords.items()}
    rows = [{**row, "group": groups.get(row["keyword"], row["keyword"])}
            for row in frame.to_dict("records")]  # fmt: skip
    summary = prepare(rows, web.longer_side, web.image_size, web.val_groups)
    print(
        f"prepare_web: {summary['pictures']:,} web pictures ({len(summary['failed'])} failed) "
        f"rescaled to a longer side of {web.longer_side} -> {OUT}"
    )


if __name__ == "__main__":
    run(main, "prepare_web")
