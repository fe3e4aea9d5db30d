"""app/heatmap.py: when a Grad-CAM map points at something."""

from __future__ import annotations

import numpy as np
import pytest

from app.heatmap import stands_out


@pytest.mark.parametrize(
    "heat, expected",
    [
        (np.zeros((36, 36)), False),  # no evidence anywhere: all dark
        (np.ones((36, 36)), False),  # evidence everywhere alike: all bright
        (np.full((36, 36), 0.5) + np.linspace(0, 0.05, 36), False),  # a faint ramp
        (np.pad(np.ones((12, 12)), ((0, 24), (0, 24))), True),  # one bright corner
        (np.zeros((0, 0)), False),
    ],
)
def test_a_map_stands_out_only_where_some_region_is_brighter(heat, expected):
    assert stands_out(heat) is expected
