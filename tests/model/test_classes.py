"""The class order and P(real) from either head, so two-class consumers keep working."""

from __future__ import annotations

import numpy as np
import pytest

from model.classes import (
    AI,
    CLASSES,
    MODIFIED,
    REAL,
    class_count,
    p_real,
    probabilities,
    real_logit,
    three_class_labels,
)
from model.errors import ModelError


def test_the_order_is_real_modified_ai():
    assert CLASSES == ("real", "modified", "ai") and (REAL, MODIFIED, AI) == (0, 1, 2)
    np.testing.assert_array_equal(three_class_labels(np.array([1, 0, 1])), [REAL, AI, REAL])


def test_p_real_from_either_head():
    np.testing.assert_allclose(p_real(np.array([[0.9], [0.2]])), [0.9, 0.2])
    np.testing.assert_allclose(p_real(np.array([0.9, 0.2])), [0.9, 0.2])
    three = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]])
    np.testing.assert_allclose(p_real(three), [0.7, 0.1])


def test_real_logit_is_the_logit_of_p_real():
    logits = np.random.default_rng(0).normal(0, 3, (50, 3))
    sigmoid = 1 / (1 + np.exp(-real_logit(logits)))
    np.testing.assert_allclose(sigmoid, probabilities(logits)[:, REAL], rtol=1e-9)
    np.testing.assert_allclose(real_logit(np.array([[1.5], [-2.0]])), [1.5, -2.0])
    assert np.isfinite(real_logit(np.array([[800.0, -800.0, 0.0]]))).all()  # no overflow


def test_probabilities_sum_to_one_and_soften_with_temperature():
    logits = np.array([[2.0, 0.0, -1.0]])
    p, soft = probabilities(logits), probabilities(logits, temperature=3.0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert soft[0, REAL] < p[0, REAL]


@pytest.mark.parametrize("width", [2, 4])
def test_an_unknown_head_is_one_line(width):
    with pytest.raises(ModelError, match=rf"^a model head has 1 or 3 outputs, this one {width}$"):
        p_real(np.zeros((2, width)))
    assert class_count(1) == 2 and class_count(3) == 3
