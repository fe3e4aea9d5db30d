"""DVC stage `logo`: data/web -> reports/logo.json (leave-one-group-out: per recipe, per
held-out group the ROC-AUC with its 95% interval, and the mean over groups; seeds'
spread where training is stochastic) and data/logo/oof.npz (the shipped recipe's
out-of-fold logits, which train_web calibrates on)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from settings import params
from settings.errors import run

METRICS = Path("reports/logo.json")
OOF = Path("data/logo")


def main() -> None:
    logo, web, train = params.load("logo"), params.load("web"), params.load("train")
    import numpy as np

    from dataset import web as store
    from dataset.atomic import atomic_dir
    from model import logo as study

    data = store.load(splits=("train",))
    cnn = SimpleNamespace(train=train, epochs=logo.cnn_epochs)
    report = {"groups": {g: int((data.group == g).sum()) for g in data.groups}, "recipes": {}}
    for recipe in logo.recipes:
        results = []
        for spec in study.runs(recipe, logo):
            logits = study.leave_one_group_out(data, recipe, spec, cnn=cnn)
            results.append((spec, study.fold_figures(data, logits, logo.bootstrap)))
        report["recipes"][recipe] = study.summarise(recipe, results)
        row = report["recipes"][recipe]
        spread = f" ± {row['sd']:.3f}" if "sd" in row else ""
        print(f"logo: {recipe:13s} mean ROC-AUC {row['mean']:.3f}{spread}")
    recipe, run_ = study.shipped(web)
    oof = study.leave_one_group_out(data, recipe, run_, names=tuple(web.features))
    report["shipped"] = {"features": list(web.features), "head": web.head, **run_,
                         **study.fold_figures(data, oof, logo.bootstrap)}  # fmt: skip
    METRICS.write_text(json.dumps(report, indent=1) + "\n")
    with atomic_dir(OOF) as temp:
        np.savez(temp / "oof.npz", logit=oof, y=data.y, group=data.group, id=data.id)
    print(f"logo: shipped recipe ({web.head} head on {'+'.join(web.features)}, {run_}) mean "
          f"{report['shipped']['mean']:.3f} -> {METRICS}")  # fmt: skip


if __name__ == "__main__":
    run(main, "logo")
