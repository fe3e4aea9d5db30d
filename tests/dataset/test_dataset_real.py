"""The data stages on the real CIFAKE archive (../shared/data/cifake.zip; skips without it)."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image, ImageOps

from dataset import cifake, frames, imaging, merge, preprocess


def pillow_alone(data: bytes, shrink_to: int | None = None) -> np.ndarray:
    """The decoder's pixels without its OpenCV path: Pillow decodes, then the same RGB rules."""
    image = Image.open(io.BytesIO(data))
    if shrink_to:
        image.draft("RGB", (shrink_to, shrink_to))
    image.load()
    return frames.to_rgb(ImageOps.exif_transpose(image))


def test_real_cifake_pictures_decode_to_pillows_pixels(cifake_zip):
    # Every 20th picture (6,000); all 120,000 were checked identical when OpenCV's
    # JPEG path was introduced.
    with zipfile.ZipFile(cifake_zip) as archive:
        names = [n for n in archive.namelist() if cifake.split_and_label(n)][::20]
        differ = [n for n in names if not _same(archive.read(n), None)]
    assert len(names) == 6_000 and differ == []


@pytest.mark.parametrize("shrink_to", [None, 36])
def test_real_web_pictures_decode_to_pillows_pixels(webscrape_dir, shrink_to):
    files = sorted(p for p in webscrape_dir.rglob("*") if p.is_file())
    differ = [p.name for p in files if not _same(p.read_bytes(), shrink_to)]
    assert len(files) > 900 and differ == []


def _same(data: bytes, shrink_to: int | None) -> bool:
    return np.array_equal(
        imaging.decode_image(data, shrink_to=shrink_to), pillow_alone(data, shrink_to)
    )


def test_the_real_archive_end_to_end(cifake_zip, tmp_path):
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
    removed = report["duplicates_removed"]
    # The official test split is intact; train lost its copies of test pictures and
    # its own duplicates.
    assert report["counts"]["test"] == {"cifake": {"ai": 10_000, "real": 10_000}}
    assert removed["total"] > 0 and removed["exact_across_split"] > 0
    assert sum(report["total"].values()) + removed["total"] == 120_000
    assert abs(report["total"]["val"] - 0.1 * (100_000 - removed["total"])) <= 2
    assert json.loads((tmp_path / "dataset.json").read_text()) == report
    x = np.load(tmp_path / "prepared" / "test.x.npy")
    assert x.shape == (20_000, 36, 36, 3) and x.dtype == np.uint8
    with np.load(tmp_path / "prepared" / "test.npz") as test:
        assert set(test["source"]) == {"cifake"}
    meta = json.loads((tmp_path / "prepared" / "meta.json").read_text())
    assert meta["image_size"] == 36 and set(meta["class_weight"]) == {"0", "1"}
