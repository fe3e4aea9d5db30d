"""The rank head (model/ranking.py): it learns what orders real above ai inside each
source group, not what tells the groups apart."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from model import logo
from model.errors import ModelError
from model.intervals import roc_auc
from model.ranking import GroupRanking, ranking


def confounded(n=400, seed=0):
    """Two training groups whose offset (column 0) follows their share of real
    pictures, and a weak within-group signal (column 1); held out: a group whose
    offset points the other way."""
    rng = np.random.default_rng(seed)
    rows, labels, groups = [], [], []
    for name, share_real, offset in (("a", 0.9, 2.0), ("b", 0.1, -2.0), ("new", 0.1, 2.0)):
        y = (rng.random(n) < share_real).astype(int)
        x = rng.normal(size=(n, 3))
        x[:, 0] += offset  # the offset only: it says nothing inside a group
        x[:, 1] += 0.8 * (2 * y - 1)  # real pictures sit higher here, in every group
        rows.append(x), labels.append(y), groups.append([name] * n)
    return np.concatenate(rows), np.concatenate(labels), np.concatenate(groups)


def test_it_ranks_a_new_group_by_the_within_group_signal_not_the_group_offset():
    x, y, g = confounded()
    train, held = g != "new", g == "new"
    rank = ranking(1.0).fit(x[train], y[train], groupranking__groups=g[train])
    pooled = logo.logistic(1.0).fit(x[train], y[train])
    w = rank[-1].coef_[0]
    assert abs(w[0]) < 0.1 * abs(w[1])  # the offset between groups carries no weight
    assert abs(pooled[-1].coef_[0][0]) > 0.5 * abs(pooled[-1].coef_[0][1])  # logistic takes it
    auc_rank = roc_auc(y[held], rank.decision_function(x[held]))
    assert auc_rank > 0.8 and auc_rank > roc_auc(y[held], pooled.decision_function(x[held]))


def test_its_scores_are_logits_of_p_real_with_classes_weighed_equally():
    x, y, g = confounded()
    fitted = GroupRanking(0.1).fit(x, y, g)
    logits = fitted.decision_function(x)
    p = fitted.predict_proba(x)
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-logits)))
    said_real = fitted.predict(x) == 1
    recall = [said_real[y == 1].mean(), (~said_real)[y == 0].mean()]
    assert min(recall) > 0.6  # balanced: neither class swallowed by the threshold


def test_it_is_deterministic_and_ignores_groups_with_one_label():
    x, y, g = confounded()
    one = GroupRanking(0.3).fit(x, y, g).coef_
    np.testing.assert_array_equal(one, GroupRanking(0.3).fit(x, y, g).coef_)
    only_real = np.r_[g, ["solo"] * 5]
    extra = np.r_[y, [1] * 5]
    rows = np.r_[x, np.full((5, 3), 50.0)]  # a group of one label: no pair to rank
    shifted = GroupRanking(0.3).fit(rows, extra, only_real).coef_
    w, w2 = one[0] / np.linalg.norm(one), shifted[0] / np.linalg.norm(shifted)
    np.testing.assert_allclose(w, w2, atol=1e-9)


def test_without_a_group_of_both_labels_it_says_so():
    x = np.zeros((4, 2))
    with pytest.raises(ModelError, match="^the rank head needs a group with both real and ai"):
        GroupRanking().fit(x, np.array([1, 1, 0, 0]), np.array(["a", "a", "b", "b"]))


def test_the_logo_stage_ships_the_head_params_name():
    assert logo.shipped(SimpleNamespace(head="rank", alpha=0.3, C=1.0)) == (
        "rank_early", {"alpha": 0.3})  # fmt: skip
    assert logo.shipped(SimpleNamespace(head="logistic", alpha=0.3, C=0.5)) == ("head", {"C": 0.5})
