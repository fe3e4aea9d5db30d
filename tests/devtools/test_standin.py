"""The stand-in's keyword groups: a query serves one group of the offline pool."""

from __future__ import annotations

import pytest

from devtools.standin import StandIn, group_of_file, group_of_query, items_for
from tests.helpers import make_image

GROUPS = {
    "aigameapp": 3, "realoraigame": 2, "artgame": 2, "aiuiportraits": 3, "authenta": 1, "search": 4
}  # fmt: skip


@pytest.fixture
def standin(tmp_path):
    for label in ("ai", "real"):
        (tmp_path / label).mkdir()
        for group, n in GROUPS.items():
            for i in range(n):
                name = f"{group}-{i}.jpg" if group != "search" else f"photo-{i}.jpg"
                (tmp_path / label / name).write_bytes(make_image(40, 40, seed=i))
    return StandIn(tmp_path)


@pytest.mark.parametrize(
    ("query", "label", "group"),
    [
        ("aigameapp ai generated", "ai", "aigameapp"),
        ("aigameapp photos", "real", "aigameapp"),
        ("realoraigame midjourney", "ai", "realoraigame"),
        ("realoraigame", "real", "realoraigame"),
        ("artgame ai generated", "ai", "artgame"),
        ("aiuiportraits photographs", "real", "aiuiportraits"),
        ("authenta ai generated", "ai", "authenta"),
        ("ai generated images", "ai", "search"),
        ("animals", "real", "search"),
        ("faults", "real", "search"),
    ],
)
def test_a_query_serves_only_its_group_of_its_label(standin, query, label, group):
    results = standin.results(query)
    assert group_of_query(query) == group
    assert {lab for lab, _ in results} == {label}
    assert {group_of_file(name) for _, name in results} == {group}
    assert len(results) == GROUPS[group]  # the whole group, nothing else


def test_results_are_shaped_like_googles(standin):
    items = items_for(standin, "aigameapp ai generated", 0, 20, "http://h")
    assert len(items) == 3 and len({i["docid"] for i in items}) == 3
    assert all(i["full"].startswith("http://h/images/ai/aigameapp-") for i in items)
    assert all(i["page"].startswith("http://h/page/ai/") and i["width"] == 40 for i in items)
