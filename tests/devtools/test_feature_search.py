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


def test_a_variant_names_backbone_size_geometry_and_head():
    from devtools.feature_search import parse_variant

    assert parse_variant("lite1@240") == ("lite1", 240, "squash", "logistic")
    assert parse_variant("lite1@240/crops3:rank") == ("lite1", 240, "crops3", "rank")
    assert parse_variant("lite0@224/short") == ("lite0", 224, "short", "logistic")
    with pytest.raises(SystemExit, match="unknown geometry"):
        parse_variant("lite1@240/stretch")


def test_by_aspect_scores_square_and_oblong_pictures_apart(tmp_path):
    import dataclasses

    from devtools.feature_search import by_aspect

    data, x, y, group = groups_with_signal(tmp_path)
    oblong = np.arange(len(y)) % 2 == 1
    data = dataclasses.replace(
        data, file_width=np.where(oblong, 300, 200), file_height=np.full(len(y), 200)
    )
    *parts, mean = by_aspect(data, x[:, 0]).split(" | ")
    assert mean.startswith("one-shape mean ")
    assert [p.rsplit(" ", 1)[0] for p in parts] == [
        f"{g} {shape}" for g in "abc" for shape in ("square", "oblong")
    ]
    assert all(float(p.rsplit(" ", 1)[1]) > 0.8 for p in parts)
