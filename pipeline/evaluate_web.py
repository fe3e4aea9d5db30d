"""DVC stage `evaluate_web`: data/model_web + data/web -> reports/web_metrics.json (held-out
groups first, all web test pictures, per group, the container-only baseline, each
with its 95% interval), reports/evaluation_web/ (ROC and reliability, numbers only) and
their charts, reports/figures/web_roc.png and web_reliability.png."""

from __future__ import annotations

import json
from pathlib import Path

from settings import params
from settings.errors import run

METRICS = Path("reports/web_metrics.json")
EVALUATION = Path("reports/evaluation_web")


def main() -> None:
    web, settings = params.load("web"), params.load("evaluate")
    from dataset import web as store
    from model.evaluate import load_trained
    from model.plots import web_evaluation_figures
    from model.web_evaluate import evaluate_web
    from model.web_train import MODEL_DIR, SEEDS_FILE

    model, seeds = load_trained(MODEL_DIR / "model.keras"), load_trained(MODEL_DIR / SEEDS_FILE)
    metrics, tables = evaluate_web(
        model, seeds, store.load(), web, settings.bootstrap, settings.calibration_bins
    )
    EVALUATION.mkdir(parents=True, exist_ok=True)
    for name, content in tables.items():
        (EVALUATION / name).write_text(json.dumps(content, indent=1) + "\n")
    METRICS.write_text(json.dumps(metrics, indent=1) + "\n")
    web_evaluation_figures(EVALUATION)
    held, base = metrics["held_out"], metrics["container_baseline"]["held_out"]
    print(
        f"evaluate_web: held-out groups {', '.join(web.val_groups)}: ROC-AUC "
        f"{held['roc_auc']:.3f} {held['roc_auc_ci']} on {held['n']} pictures "
        f"(container only {base['roc_auc']:.3f}); all web test ROC-AUC "
        f"{metrics['all']['roc_auc']:.3f} {metrics['all']['roc_auc_ci']}"
    )


if __name__ == "__main__":
    run(main, "evaluate_web")
