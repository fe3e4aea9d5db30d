"""Table from results/*.npz: per fold AUC mean±std over seeds, 3-seed ensemble
(mean logit), mean over folds.
Usage: python summary.py [names...]"""

import glob
import os
import sys

import numpy as np
from sklearn.metrics import roc_auc_score

from devtools.group_study.paths import WORK

GROUPS = ("aigameapp", "realoraigame", "search")
m = np.load(WORK / "cache_meta.npz")
y, g = m["label"], m["group"]
files = (
    sorted(glob.glob(str(WORK / "results/*.npz")))
    if len(sys.argv) < 2
    else [str(WORK / f"results/{n}.npz") for n in sys.argv[1:]]
)
print(
    f"{'recipe/agg':34s} "
    + " ".join(f"{x:>18s}" for x in GROUPS)
    + f" {'mean(seed-avg)':>16s} {'ens3 per fold':>22s} {'ens mean':>8s} {'s/run':>6s}"
)
for fn in files:
    z = np.load(fn)
    keys = [k for k in z.files if k.startswith("f")]
    aggs = sorted({k.split("_", 2)[2] for k in keys})
    for agg in aggs:
        cells, ens, per_seed_means = [], [], {}
        for f in range(3):
            ks = sorted(
                k
                for k in keys
                if k.startswith(f"f{f}_") and k.endswith("_" + agg) and k.split("_", 2)[2] == agg
            )
            if not ks:
                cells.append(f"{'-':>18s}")
                ens.append(np.nan)
                continue
            a = [roc_auc_score(y[g == f], z[k]) for k in ks]
            for k, v in zip(ks, a, strict=False):
                per_seed_means.setdefault(k.split("_")[1], []).append(v)
            cells.append(
                f"{np.mean(a):.3f}±{np.std(a, ddof=1) if len(a) > 1 else 0:.3f}(n{len(a)})".rjust(
                    18
                )
            )
            ens.append(
                roc_auc_score(y[g == f], np.mean([z[k] for k in ks], 0)) if len(ks) > 1 else np.nan
            )
        sm = [np.mean(v) for v in per_seed_means.values() if len(v) == 3]
        mean_s = (
            f"{np.mean(sm):.3f}±{np.std(sm, ddof=1):.3f}"
            if len(sm) > 1
            else (f"{sm[0]:.3f}" if sm else "-")
        )
        print(
            f"{os.path.basename(fn)[:-4] + '/' + agg:34s} "
            + " ".join(cells)
            + f" {mean_s:>16s} "
            + " ".join(f"{e:.3f}" for e in ens).rjust(22)
            + f" {np.nanmean(ens) if not np.isnan(ens).all() else np.nan:8.3f}"
            + f" {z['train_seconds'].mean():6.0f}"
        )
