"""The modify stage end to end on tiny prepared splits: every split, rerun identical."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from dataset.modified import load_modified
from dataset.prepared import SPLITS, load_split
from pipeline import modify as stage
from settings.errors import run
from tests.helpers import ROOT, make_arrays, set_params, write_arrays


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    prepared = tmp_path / "data" / "prepared"
    prepared.mkdir(parents=True)
    for seed, split in enumerate(SPLITS):
        arrays = make_arrays(24, seed=seed)
        arrays["id"] = np.array([f"{split}/{i}" for i in range(24)])
        write_arrays(prepared, split, arrays)
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PARAMS_OVERLAY", raising=False)
    return tmp_path


def test_modify_stage_writes_every_split_from_its_own_pictures(project):
    stage.main()
    first = {}
    for split in SPLITS:
        made, prepared = load_modified(split), load_split(split)
        assert set(made.real_id) <= set(prepared.id[prepared.y == 1])
        assert set(made.donor_id) - {""} <= set(prepared.id[prepared.y == 0])
        first[split] = made.x.copy()
    meta = json.loads((project / "data/modified/meta.json").read_text())
    assert set(meta["counts"]) == set(SPLITS) and meta["settings"]["fraction"] == 0.5
    stage.main()  # a rerun writes the same pictures
    for split in SPLITS:
        np.testing.assert_array_equal(load_modified(split).x, first[split])


def test_a_bad_setting_stops_the_stage_in_one_line(project, capsys):
    set_params("modify", kinds=["smudge"])
    with pytest.raises(SystemExit) as stopped:
        run(stage.main, "modify")
    assert stopped.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: modify: modify.kinds must list distinct kinds of blur")
    assert "\n" not in err and not (project / "data/modified").exists()
    assert yaml.safe_load((project / "params.yaml").read_text())["modify"]["kinds"] == ["smudge"]
