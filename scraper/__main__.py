"""Scrape one query on its own:

    python -m scraper "midjourney portraits" --label ai --limit 100 --out data/try

Defaults come from the `scrape` section of params.yaml when it is readable.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scraper.collect import collect, settings_from
from scraper.errors import ScrapeError
from settings import params as project_params
from settings.errors import run
from settings.progress import silence


def defaults():
    """The scrape settings of params.yaml, or the dataclass defaults outside the project."""
    try:
        return project_params.load("scrape")
    except project_params.ParamsError:
        return project_params.Scrape(keywords={}, limit=200, workers=4)


def parse_args(argv=None) -> argparse.Namespace:
    d = defaults()
    parser = argparse.ArgumentParser(prog="python -m scraper", description=__doc__.split("\n")[0])
    parser.add_argument("query", help="what to search Google Images for")
    parser.add_argument("--label", required=True, choices=("ai", "real"))
    parser.add_argument("--limit", type=int, default=d.limit, help=f"default {d.limit}")
    parser.add_argument("--out", type=Path, required=True, help="folder for pictures + manifest")
    parser.add_argument("--search-url", default=d.search_url)
    parser.add_argument("--webdriver-url", default=d.webdriver_url, help="a Selenium Grid")
    parser.add_argument("--workers", type=int, default=d.workers)
    parser.add_argument(
        "--allow-host", action="append", default=list(d.allow_hosts), dest="allow_hosts",
        help="a host exempt from the private-address guard (repeatable)",
    )  # fmt: skip
    parser.add_argument("--host-delay", type=float, default=d.host_delay_s, help="seconds per host")
    parser.add_argument("--timeout", type=float, default=d.download_timeout_s, help="per download")
    parser.add_argument("--scroll-rounds", type=int, default=d.max_scroll_rounds)
    parser.add_argument("--click-pause", type=float, default=d.click_pause_s, help="seconds")
    parser.add_argument("--query-pause", type=float, default=d.query_pause_s, help="seconds")
    parser.add_argument("--profile-dir", default=d.browser_profile_dir, help="keep this profile")
    parser.add_argument(
        "--allow-thumbnails", action="store_true", default=d.allow_thumbnails,
        help="keep thumbnails when no full-size URL is found",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.limit < 1 or args.workers < 1:
        parser.error("--limit and --workers must be at least 1")
    args.settings = d
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    silence(args.quiet)
    settings = settings_from(args.settings) | dict(
        search_url=args.search_url, webdriver_url=args.webdriver_url,
        allow_hosts=args.allow_hosts, host_delay_s=args.host_delay,
        download_timeout_s=args.timeout, max_scroll_rounds=args.scroll_rounds,
        click_pause_s=args.click_pause, query_pause_s=args.query_pause,
        profile_dir=args.profile_dir, allow_thumbnails=args.allow_thumbnails,
    )  # fmt: skip
    report = collect(
        args.query, args.label, args.out, limit=args.limit, workers=args.workers, **settings
    )
    print(report.summary(), flush=True)
    if report.error:
        raise ScrapeError(report.error)


if __name__ == "__main__":
    run(main, "scrape")
