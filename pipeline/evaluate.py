"""DVC stage `evaluate`: data/model + data/prepared -> reports/metrics.json,
reports/evaluation/*.json (curves, confusion, calibration, robustness, per source),
their charts as reports/figures/*.png (in git), and reports/images/worst_mistakes.png
(data pictures: DVC-cached, never in git).
"""

from __future__ import annotations

from settings import params
from settings.errors import run


def main() -> None:
    settings = params.load("evaluate")
    from model.evaluation_report import evaluate_whole

    print(evaluate_whole(settings))


if __name__ == "__main__":
    run(main, "evaluate")
