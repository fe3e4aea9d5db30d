"""devtools/feature_search: the leave-one-group-out comparison behind the web view's
backbone choice (README "Web pictures")."""

from __future__ import annotations

import numpy as np
import pytest

from devtools.feature_search import logo_scores, paired_difference, per_group
from tests.model.test_web import web_set


def groups_with_signal(tmp_path, n=240, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    group = np.array(["a", "b", "c"])[np.arange(n) % 3]
    x = rng.normal(size=(n, 5))
    x[:, 0] += 2 * y  # one feature carries the label in every group
    return web_set(tmp_path, group.tolist(), y.tolist()), x, y, group


@pytest.mark.parametrize("head", ["logistic", "rank"])
def test_logo_scores_every_picture_by_a_model_without_its_group(tmp_path, head):
    data, x, y, group = groups_with_signal(tmp_path)
    scores = logo_scores(data, x, C=1.0, head=head)
    aucs = per_group(y, group, scores)
    assert set(aucs) == {"a", "b", "c"} and min(aucs.values()) > 0.8


def test_paired_difference_is_zero_against_itself_and_positive_for_a_better_score(tmp_path):
    data, x, y, group = groups_with_signal(tmp_path)
    good = logo_scores(data, x, C=1.0)
    noisy = good + np.random.default_rng(1).normal(scale=3, size=len(y))
    assert paired_difference(y, group, good, good, resamples=50) == (0.0, 0.0, 0.0)
    mean, low, high = paired_difference(y, group, noisy, good, resamples=200)
    assert 0 < low <= mean <= high
