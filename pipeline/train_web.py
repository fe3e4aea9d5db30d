"""DVC stage `train_web`: data/web -> data/model_web (the patch view: one model per seed
of web.seeds, their logits averaged), curves through dvclive to reports/train_web/ and
drawn in reports/figures/web_training.png."""

from __future__ import annotations

from settings import params
from settings.errors import run


def main() -> None:
    web, architecture = params.load("web"), params.load("train")
    from dvclive import Live

    from dataset import web as store
    from model.plots import training_figure
    from model.web_train import LIVE_DIR, train_web

    data = store.load()
    train, val = data.subset(data.split == "train"), data.subset(data.split == "val")
    extra = cifake_mix(web) if web.cifake_fraction > 0 else None
    with Live(dir=str(LIVE_DIR), dvcyaml=None, save_dvc_exp=False) as live:
        summary = train_web(train, val, web, architecture, live=live, extra=extra)
        live.summary["val_auc_ensemble"] = summary["val_auc_ensemble"]
        live.summary["val_auc_per_seed"] = summary["val_auc_per_seed"]
    training_figure("train_web", LIVE_DIR)
    per_seed = ", ".join(f"{a:.3f}" for a in summary["val_auc_per_seed"])
    print(
        f"train_web: {len(web.seeds)} seeds on {len(train):,} web pictures in "
        f"{summary['seconds']:.0f}s; held-out ROC-AUC per seed {per_seed}, "
        f"ensemble {summary['val_auc_ensemble']:.3f}"
    )


def cifake_mix(web):
    """CIFAKE training pictures to mix into each epoch: web.cifake_fraction of the batches."""
    import numpy as np

    from dataset.prepared import load_split
    from model.errors import ModelError

    cifake = load_split("train")
    cifake = cifake.subset(cifake.source == "cifake")
    if cifake.x.shape[1] != web.image_size:
        raise ModelError(
            f"CIFAKE is prepared at {cifake.x.shape[1]} px, web.image_size is {web.image_size}"
        )

    def draw(rng, web_patches: int):
        n = round(web_patches * web.cifake_fraction / (1 - web.cifake_fraction))
        rows = np.sort(rng.choice(len(cifake), size=min(n, len(cifake)), replace=False))
        return cifake.x[rows], cifake.y[rows]

    return draw


if __name__ == "__main__":
    run(main, "train_web")
