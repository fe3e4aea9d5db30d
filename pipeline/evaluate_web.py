"""DVC stage `evaluate_web`: data/model_web + data/web (+ the CIFAKE view, data/model, for
small pictures) -> reports/web_metrics.json (the test split: all groups, per group, the
container-only baseline, small copies; 95% intervals), reports/evaluation_web/ (ROC and
reliability, numbers only) and their charts."""

from __future__ import annotations

import json
from pathlib import Path

from settings import params
from settings.errors import run

METRICS = Path("reports/web_metrics.json")
EVALUATION = Path("reports/evaluation_web")


def main() -> None:
    settings = params.load("evaluate")
    from dataset import web as store
    from model.evaluate import Scorer, load_trained
    from model.plots import web_evaluation_figures
    from model.web_evaluate import evaluate_web
    from model.web_train import CALIBRATION_FILE, HEAD_FILE, MODEL_DIR

    head = load_trained(MODEL_DIR / HEAD_FILE)
    calibration = json.loads((MODEL_DIR / CALIBRATION_FILE).read_text())
    cifake_view = Scorer(load_trained(Path("data/model/model.keras")))
    metrics, tables = evaluate_web(
        head, calibration["features"], calibration["temperature"], cifake_view, store.load(),
        settings.bootstrap, settings.calibration_bins,
    )  # fmt: skip
    EVALUATION.mkdir(parents=True, exist_ok=True)
    for name, content in tables.items():
        (EVALUATION / name).write_text(json.dumps(content, indent=1) + "\n")
    METRICS.write_text(json.dumps(metrics, indent=1) + "\n")
    web_evaluation_figures(EVALUATION)
    test, base = metrics["test"], metrics["container_baseline"]["test"]
    small = metrics["small"]
    print(
        f"evaluate_web: web test ROC-AUC {test['roc_auc']:.3f} {test['roc_auc_ci']} on "
        f"{test['n']} pictures (container only {base['roc_auc']:.3f}); small copies: web view "
        f"{small['web_view']['accuracy']:.3f}, CIFAKE view {small['cifake_view']['accuracy']:.3f} "
        "accuracy"
    )


if __name__ == "__main__":
    run(main, "evaluate_web")
