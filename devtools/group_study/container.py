"""Container-only baseline: file format, size, aspect, bytes, JPEG quality estimate...
Logistic regression and a small gradient boosting, leave-one-group-out.
Usage: python container.py   (needs cache_meta.npz from cache.py)"""

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from devtools.group_study.paths import WORK

GROUPS = ("aigameapp", "realoraigame", "search")
m = np.load(WORK / "cache_meta.npz")
X, y, g, names = m["feats"], m["label"], m["group"], list(m["feat_names"])
print("features:", names)
for gi, gn in enumerate(GROUPS):
    s = g == gi
    print(
        f"{gn}: n={s.sum()} jpeg={X[s, 0].mean():.2f} png={X[s, 1].mean():.2f} "
        f"webp={X[s, 2].mean():.2f} "
        f"q(ai)={np.median(X[s & (y == 0), 8]):.0f} q(real)={np.median(X[s & (y == 1), 8]):.0f}"
    )
models = {
    "logreg": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)),
    "hgb": lambda: HistGradientBoostingClassifier(
        max_depth=3, max_iter=100, learning_rate=0.1, random_state=0
    ),
}
for mn, mk in models.items():
    aucs = []
    for f in range(3):
        tr, te = g != f, g == f
        clf = mk().fit(X[tr], y[tr])
        aucs.append(roc_auc_score(y[te], clf.predict_proba(X[te])[:, 1]))
    print(
        mn,
        " ".join(f"{GROUPS[f]}={a:.3f}" for f, a in enumerate(aucs)),
        f"mean={np.mean(aucs):.3f}",
    )
# within-group (5-fold CV) as a reference for how much the file tells inside one group

for gi, gn in enumerate(GROUPS):
    s = g == gi
    a = cross_val_score(
        models["hgb"](),
        X[s],
        y[s],
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
        scoring="roc_auc",
    )
    print(f"within-group 5-fold hgb {gn}: {a.mean():.3f}")
