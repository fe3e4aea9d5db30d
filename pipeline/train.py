"""DVC stage `train`: data/prepared -> data/model (model.keras, history, timing).

Per-epoch metrics go through dvclive to reports/train/ (metrics.json and
plots/metrics/), which dvc.yaml declares; dvcyaml=None because dvc.yaml does. Their
chart is reports/figures/training.png (model/plots.py).
"""

from __future__ import annotations

from settings import params as settings
from settings.errors import run


def main() -> None:
    params = settings.load("train")
    # Imported here so a settings error is reported before TensorFlow starts.
    from dvclive import Live

    from model.plots import training_figure
    from model.train import LIVE_DIR, is_chief, train

    if not is_chief(params.strategy):
        # A multi-worker cluster's other workers train their share and write nothing.
        train(params)
        return
    with Live(dir=str(LIVE_DIR), dvcyaml=None, save_dvc_exp=False) as live:
        summary = train(params, live=live)
        for key in ("epochs_run", "seconds", "images_per_second", "parameters"):
            live.summary[key] = summary[key]
    training_figure("train", LIVE_DIR)
    print(
        f"trained {summary['parameters']:,}-parameter {params.architecture} for "
        f"{summary['epochs_run']} epochs in {summary['seconds']:.0f}s "
        f"({summary['images_per_second']:.0f} images/s)"
    )


if __name__ == "__main__":
    run(main, "train")
