"""Leave-one-group-out: how a recipe does on a source it never trained on.

Every recipe is trained on the training-split pictures of all groups but one and
scored on the training-split pictures of that one, for each group in turn; the test
split is never touched, so recipes can be chosen here and the test split still
measures the choice. Recipes:

- container: what the file alone tells (format, bytes, size, JPEG quality), the
  baseline every figure stands beside (model/container.py);
- cnn36: the 36x36 four-block CNN (model/build.py, params train.*) trained on the web
  pictures at 36x36 (one run per seed);
- head, head_mid, early: logistic regression on the frozen backbone's pooled head
  features, on those and the mid-stage ones, and on every early block's (one run per
  C: deterministic);
- early_small: the early features of the picture and of its 32 px copy (a measured
  alternative: serving would need a second backbone call per picture);
- mlp_early: a small two-layer head on the early features (one run per seed);
- rank_early: the early features ranked within each group (model/ranking.py), a linear
  head like the logistic one (one run per alpha: deterministic).
"""

from __future__ import annotations

import numpy as np

from dataset.web import WebSet
from model import container
from model.intervals import bootstrap, roc_auc
from model.ranking import ranking

FEATURES = {
    "head": ("head",), "head_mid": ("head", "mid"), "early": ("early",),
    "early_small": ("early", "small_early"), "mlp_early": ("early",),
    "rank_early": ("early",),
}  # fmt: skip


def logistic(C: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        StandardScaler(), LogisticRegression(C=C, max_iter=3000, class_weight="balanced")
    )


def mlp(seed: int):
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    net = MLPClassifier((256,), alpha=1e-2, early_stopping=True, max_iter=200, random_state=seed)
    return make_pipeline(StandardScaler(), net)


def logit_of(model, x: np.ndarray) -> np.ndarray:
    """A fitted scikit-learn model's score as a logit (p_real's log-odds)."""
    p = np.clip(model.predict_proba(x)[:, 1], 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def fold_scores(
    recipe: str, train: WebSet, held: WebSet, *, C=1.0, alpha=0.1, seed=0, cnn=None, names=None
):
    """The held-out pictures' logits after training `recipe` on `train` (`names`: the
    feature sets of a logistic recipe, when not the recipe's own)."""
    if recipe == "container":
        model = logistic(1.0).fit(container.features(train), train.y)
        return logit_of(model, container.features(held))
    if recipe == "cnn36":
        return cnn36_scores(train, held, cnn, seed)
    names = names or FEATURES[recipe]
    if recipe.startswith("mlp"):
        return logit_of(mlp(seed).fit(train.x(names), train.y), held.x(names))
    if recipe.startswith("rank"):
        return fit_linear(train, names, head="rank", alpha=alpha).decision_function(held.x(names))
    return logit_of(fit_linear(train, names, C=C), held.x(names))


def fit_linear(train: WebSet, names, *, head: str = "logistic", C=1.0, alpha=0.1):
    """The linear head fitted on the feature sets `names` of `train`: StandardScaler,
    then LogisticRegression (C) or, head "rank", GroupRanking within train's groups
    (alpha). The logo recipes and train_web's shipped head both fit it here."""
    x = train.x(names)
    if head == "rank":
        return ranking(alpha).fit(x, train.y, groupranking__groups=train.group)
    return logistic(C).fit(x, train.y)


def runs(recipe: str, settings) -> list[dict]:
    """The runs of a recipe: one per C (logistic recipes) or alpha (rank), one per seed
    (stochastic)."""
    if recipe in ("head", "head_mid", "early", "early_small"):
        return [{"C": c} for c in settings.C]
    if recipe == "rank_early":
        return [{"alpha": a} for a in settings.alpha]
    if recipe in ("mlp_early", "cnn36"):
        return [{"seed": s} for s in settings.seeds]
    return [{}]


def shipped(web) -> tuple[str, dict]:
    """The recipe and run the web view ships (params web.*): its out-of-fold logits
    are what train_web calibrates on."""
    if web.head == "rank":
        return "rank_early", {"alpha": web.alpha}
    return "head", {"C": web.C}


def leave_one_group_out(data: WebSet, recipe: str, run: dict, **options) -> np.ndarray:
    """Out-of-fold logits of every picture of `data`, each scored by the model trained
    without its group."""
    out = np.zeros(len(data))
    for group in data.groups:
        held = data.group == group
        out[held] = fold_scores(recipe, data.subset(~held), data.subset(held), **run, **options)
    return out


def fold_figures(data: WebSet, logits: np.ndarray, resamples: int) -> dict:
    """Per group ROC-AUC with its 95% interval, and their mean over groups."""
    folds = {}
    for group in data.groups:
        rows = data.group == group
        y, p = data.y[rows], 1 / (1 + np.exp(-logits[rows]))
        folds[group] = {
            "n": int(rows.sum()),
            "roc_auc": _round(roc_auc(y, p)),
            "roc_auc_ci": bootstrap(y, p, roc_auc, resamples),
        }
    aucs = [f["roc_auc"] for f in folds.values() if f["roc_auc"] is not None]
    return {"mean": _round(float(np.mean(aucs))) if aucs else None, "folds": folds}


def summarise(recipe: str, results: list[tuple[dict, dict]]) -> dict:
    """A recipe's row: every run's figures; for seeds, the mean and spread of the mean."""
    means = [figures["mean"] for _, figures in results]
    row = {"runs": [{**run, **figures} for run, figures in results]}
    if len(results) > 1 and "seed" in results[0][0]:
        row["mean"] = _round(float(np.mean(means)))
        row["sd"] = _round(float(np.std(means, ddof=1)))
        row["folds"] = {group: _mean_auc(results, group) for group in results[0][1]["folds"]}
    else:  # the best C (alpha) is the recipe's figure: chosen here, on held-out groups
        best = int(np.argmax(means))
        row.update(best=results[best][0], mean=means[best], folds=results[best][1]["folds"])
    return row


def cnn36_scores(train: WebSet, held: WebSet, settings, seed: int) -> np.ndarray:
    """The 36x36 CNN of params train.* trained on the groups' pictures at 36x36."""
    import keras

    from model.build import build_model, loss_for
    from model.data import balanced_weights

    keras.utils.set_random_seed(seed)
    model = build_model(settings.train, train.small.shape[1])
    model.compile(optimizer=keras.optimizers.AdamW(settings.train.learning_rate / 2),
                  loss=loss_for(2))  # fmt: skip
    model.fit(
        train.small.astype("float32"), train.y.astype("float32"), epochs=settings.epochs,
        batch_size=64, class_weight=balanced_weights(train.y), verbose=0,
    )  # fmt: skip
    logit = keras.Model(model.inputs, model.get_layer("logit").output)
    return np.asarray(logit(held.small.astype("float32"), training=False)).reshape(-1)


def _mean_auc(results: list[tuple[dict, dict]], group: str) -> float | None:
    """A group's ROC-AUC over the seeds; None when it has one label only (no ROC-AUC)."""
    values = [f["folds"][group]["roc_auc"] for _, f in results]
    values = [v for v in values if v is not None]
    return _round(float(np.mean(values))) if values else None


def _round(value):
    return None if value is None else round(float(value), 4)
