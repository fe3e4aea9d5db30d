"""A linear head that ranks within each source group: the web view's `rank` head.

Leave-one-group-out scores a recipe by its ROC-AUC inside each held-out group, and
ROC-AUC is a ranking figure. A logistic regression on the pooled groups also learns
what tells the groups apart (their subjects, sizes and ai/real proportions), which
says nothing about a new source. This head only compares pictures of one group with
each other: for every training group, every (real, ai) pair, with a squared loss on
the pair's score difference, each group weighing the same. That loss has a closed
form (least-squares ranking, "RankRLS"): with per group g the class means m_real,
m_ai and covariances S_real, S_ai, and d_g = m_real - m_ai,

    w = (mean_g (S_real + S_ai + d_g d_g^T) + alpha I)^-1 mean_g d_g

on standardised features: deterministic, no pairs to draw, one solve. A ranking has
no offset and no scale, so a one-feature logistic regression on the training scores
(classes weighed equally, as the logistic head's) makes them the logits of p_real;
the result is a plain linear head (coef_, intercept_), served like the logistic one.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from model.errors import ModelError


class GroupRanking(ClassifierMixin, BaseEstimator):
    """Least-squares ranking of real above ai within each group (labels 1 = real)."""

    def __init__(self, alpha: float = 0.1):
        self.alpha = alpha

    def fit(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None):
        x, y = np.asarray(x, np.float64), np.asarray(y)
        groups = np.zeros(len(y)) if groups is None else np.asarray(groups)
        pairs = [(x[(groups == g) & (y == 1)], x[(groups == g) & (y == 0)])
                 for g in np.unique(groups)]  # fmt: skip
        pairs = [(real, ai) for real, ai in pairs if len(real) and len(ai)]
        if not pairs:  # a user's keywords may leave every group with one label
            raise ModelError("the rank head needs a group with both real and ai pictures")
        scatter, direction = np.zeros((x.shape[1],) * 2), np.zeros(x.shape[1])
        for real, ai in pairs:
            d = real.mean(0) - ai.mean(0)
            scatter += _covariance(real) + _covariance(ai) + np.outer(d, d)
            direction += d
        ridge = scatter / len(pairs) + self.alpha * np.eye(x.shape[1])
        w = np.linalg.solve(ridge, direction / len(pairs))
        scale, offset = _platt(x @ w, y)
        self.coef_, self.intercept_ = (scale * w)[None, :], np.array([offset])
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, np.float64) @ self.coef_[0] + self.intercept_[0]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = 1 / (1 + np.exp(-self.decision_function(x)))
        return np.stack([1 - p, p], axis=1)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.decision_function(x) >= 0).astype(int)


def ranking(alpha: float):
    """The rank head as a scikit-learn pipeline (StandardScaler, GroupRanking); fit it
    with `groupranking__groups=` the training pictures' groups."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), GroupRanking(alpha))


def _covariance(x: np.ndarray) -> np.ndarray:
    centred = x - x.mean(0)
    return centred.T @ centred / len(x)


def _platt(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Scale and offset turning ranking scores into logits of p_real."""
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression(C=1e4, class_weight="balanced", max_iter=1000)
    fitted.fit(scores[:, None], y)
    return float(fitted.coef_[0, 0]), float(fitted.intercept_[0])
