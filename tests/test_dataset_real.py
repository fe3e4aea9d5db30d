"""The data stages on the real CIFAKE archive (../shared/data/cifake.zip; skips without it)."""

from __future__ import annotations

import json
import time

import numpy as np

from dataset import cifake, merge, preprocess


def test_the_real_archive_end_to_end(cifake_zip, tmp_path):
    start = time.perf_counter()
    info = cifake.prepare(str(cifake_zip), "", tmp_path / "cifake")
    assert info["complete"] and info["pictures"] == 120_000 and info["skipped"] == {}
    assert info["source_sha256"] == (
        "3e2893b643894661b715a0bc14a75f0ef0c5b80aaab29e244e789e8416170aa6"
    )
    summary = merge.merge(
        {},
        4,
        0.2,
        cifake_dir=tmp_path / "cifake",
        scraped_root=tmp_path / "scraped",
        out=tmp_path / "merged",
    )
    assert summary["pictures"]["test"]["cifake"] == {"ai": 10_000, "real": 10_000}
    report = preprocess.preprocess(
        36,
        0.1,
        "class_weights",
        42,
        merged_dir=tmp_path / "merged",
        out=tmp_path / "prepared",
        report=tmp_path / "dataset.json",
        samples=tmp_path / "samples.png",
    )
    seconds = time.perf_counter() - start
    removed = report["duplicates_removed"]
    # The official test split is intact; train lost its copies of test pictures and
    # its own duplicates.
    assert report["counts"]["test"] == {"cifake": {"ai": 10_000, "real": 10_000}}
    assert removed["total"] > 0 and removed["exact_across_split"] > 0
    assert sum(report["total"].values()) + removed["total"] == 120_000
    assert abs(report["total"]["val"] - 0.1 * (100_000 - removed["total"])) <= 2
    assert json.loads((tmp_path / "dataset.json").read_text()) == report
    with np.load(tmp_path / "prepared" / "test.npz") as test:
        assert test["x"].shape == (20_000, 36, 36, 3) and test["x"].dtype == np.uint8
        assert set(test["source"]) == {"cifake"}
    meta = json.loads((tmp_path / "prepared" / "meta.json").read_text())
    assert meta["image_size"] == 36 and set(meta["class_weight"]) == {"0", "1"}
    assert seconds < 90, f"the data path took {seconds:.0f} s (target: under 60 s)"
