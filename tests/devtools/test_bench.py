"""devtools.bench's command line: parts, aliases and the report it writes (parts stubbed)."""

from __future__ import annotations

import json

import pytest

from devtools import bench

MACHINE = {
    "cpu": "cpu",
    "cores": 2,
    "memory_gib": 1,
    "tensorflow": "2",
    "fill_new_memory_ms_per_mib": 1.0,
    "fill_just_freed_memory_ms_per_mib": 0.1,
}


def test_only_web_runs_the_inference_part_and_names_it(tmp_path, monkeypatch):
    ran = []
    monkeypatch.setattr(bench, "OUT", tmp_path)
    monkeypatch.setattr(bench, "machine", lambda: dict(MACHINE))
    monkeypatch.setitem(bench.PARTS, "inference", lambda: ran.append(1) or {"model_call_ms_p50": 9})
    assert bench.main(["--only", "web,inference"]) == 0
    assert ran == [1]  # the alias and its part are one part
    (report,) = tmp_path.glob("*-inference.json")
    parts = json.loads(report.read_text())["parts"]
    assert parts == {"inference": {"model_call_ms_p50": 9}}
    assert "| inference | model_call_ms_p50 | 9 |" in report.with_suffix(".md").read_text()


def test_an_unknown_part_names_the_known_ones_and_aliases(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--only", "patch"])
    assert "web (= inference)" in capsys.readouterr().err


def test_serving_bound_by_reads_the_profile():
    profile = {
        "top": [
            {"name": bench.MODEL_CALL, "seconds": 0.9, "share": 0.9},
            {"name": "decode (decode_image)", "seconds": 0.05, "share": 0.05},
        ],
        "functions_traced": 0,
    }
    text = bench.serving_bound_by(profile)
    assert text.startswith(f"{bench.MODEL_CALL} 90%, decode (decode_image) 5%")
    assert text.endswith("no function traced again")


def test_profile_serving_splits_a_batchs_time_by_the_predict_paths_parts(tmp_path):
    from PIL import Image

    from tests.helpers import publish_tiny

    model_dir = publish_tiny(tmp_path / "published")
    pictures = []
    for i in range(4):
        pictures.append(str(tmp_path / f"{i}.jpg"))
        Image.new("RGB", (200, 150), (60 * i, 80, 120)).save(pictures[-1], "JPEG")
    profile = bench.profile_serving(model_dir, pictures, batch=2)
    seconds = {row["name"]: row["seconds"] for row in profile["top"]}
    for part in bench.SERVING_PARTS:  # every part's function is found where it is named
        assert seconds.get(part, 0) > 0, part
    assert sum(row["share"] for row in profile["top"]) == pytest.approx(1.0, abs=0.01)
    assert profile["functions_traced"] == 0  # one trace serves every batch size
