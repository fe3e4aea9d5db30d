"""The data stages (cifake, merge, preprocess) on small generated sets."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import imagehash
import numpy as np
import pytest
import yaml
from PIL import Image

from dataset import cifake, dedup, merge, preprocess, scraped
from dataset.errors import DatasetError
from dataset.hashing import NearDuplicateIndex, perceptual_hash, perceptual_hashes, pixel_sha256
from dataset.imaging import decode_image, load_image, sniff_format
from model.web_features import store_features
from tests.helpers import (
    ROOT,
    WEB_CROPS,
    StubExtractor,
    TerminalStream,
    descendants,
    make_image,
    process_running,
    web_rows,
)

SHIPPED = yaml.safe_load((ROOT / "params.yaml").read_text())
GROUPS = [(s, c) for s in ("train", "test") for c in ("REAL", "FAKE")]


def jpeg(seed: int, size: int = 32, quality: int = 90) -> bytes:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((size, size), Image.BICUBIC)
    noise = rng.normal(0, 12, (size, size, 3))
    pixels = np.clip(np.asarray(image) + noise, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def cifake_zip(path: Path, per_group: int = 10, extra: dict | None = None, seed: int = 0) -> Path:
    """A CIFAKE-shaped archive of generated 32x32 JPEGs (+ extra members name -> bytes)."""
    with zipfile.ZipFile(path, "w") as archive:
        k = seed * 10_000
        for split, cls in GROUPS:
            archive.writestr(f"{split}/{cls}/", b"")
            for i in range(per_group):
                archive.writestr(f"{split}/{cls}/{i} ({cls}).jpg", jpeg(k))
                k += 1
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def add_scraped(
    root: Path, keyword: str, files: list[bytes], label: str, file_key=False
) -> list[str]:
    """Files + manifest.jsonl as the scraper writes them; returns their sha256."""
    folder = root / keyword
    folder.mkdir(parents=True, exist_ok=True)
    shas = []
    with open(folder / "manifest.jsonl", "a") as manifest:
        for data in files:
            sha = hashlib.sha256(data).hexdigest()
            fmt = sniff_format(data) or "JPEG"
            ext = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}[fmt]
            name = f"{sha[:16]}.{ext}"
            (folder / name).write_bytes(data)
            record = {
                "query": keyword,
                "label": label,
                "sha256": sha,
                "format": fmt,
                "pixel_sha256": "",
                "phash": "",
                "width": 0,
                "height": 0,
            }
            if file_key:
                record["file"] = name
            manifest.write(json.dumps(record) + "\n")
            shas.append(sha)
    return shas


def build(tmp: Path, archive: Path, keywords: dict, distance: int = 4, fraction: float = 0.2):
    info = cifake.prepare(str(archive), "", tmp / "cifake")
    summary = merge.merge(
        keywords,
        distance,
        fraction,
        cifake_dir=tmp / "cifake",
        scraped_root=tmp / "scraped",
        out=tmp / "merged",
        n_workers=1,
    )
    return info, summary


def run_preprocess(tmp: Path, balance="class_weights", size=36, seed=0, workers=1):
    return preprocess.preprocess(
        size,
        0.2,
        balance,
        seed,
        merged_dir=tmp / "merged",
        out=tmp / "prepared",
        report=tmp / "reports/dataset.json",
        samples=tmp / "reports/images/samples.png",
        n_workers=workers,
    )


def arrays(tmp: Path, split: str) -> dict:
    with np.load(tmp / "prepared" / f"{split}.npz") as data:
        return {
            "x": np.load(tmp / "prepared" / f"{split}{preprocess.X_FILE}"),
            **{k: data[k] for k in data.files},
        }


# --- cifake ---


def test_a_canonical_archive_is_kept_byte_for_byte(tmp_path):
    archive = cifake_zip(tmp_path / "c.zip", per_group=3)
    info = cifake.prepare(str(archive), "", tmp_path / "out")
    assert (tmp_path / "out/cifake.zip").read_bytes() == archive.read_bytes()
    assert info["counts"] == {"train": {"REAL": 3, "FAKE": 3}, "test": {"REAL": 3, "FAKE": 3}}
    assert info["source_sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert not info["repacked"] and not info["complete"] and info["skipped"] == {}
    assert json.loads((tmp_path / "out/info.json").read_text()) == info


def test_unsafe_unexpected_and_bomb_members_are_skipped_with_a_reason(tmp_path):
    bomb = zipfile.ZipInfo("train/FAKE/bomb.jpg")
    archive = cifake_zip(
        tmp_path / "c.zip",
        per_group=2,
        extra={
            "../evil.jpg": b"x",
            "/etc/x.jpg": b"x",
            "train/REAL/notes.txt": b"hi",
            "__MACOSX/train/REAL/._a.jpg": b"x",
            "train\\REAL\\b.jpg": b"x",
        },
    )
    with zipfile.ZipFile(archive, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr(bomb, b"\0" * 3_000_000)
    info = cifake.prepare(str(archive), "", tmp_path / "out")
    assert info["repacked"] and info["pictures"] == 8
    assert info["skipped"]["unsafe member name"] == 3
    assert info["skipped"]["unexpected member (not {train,test}/{REAL,FAKE}/*.jpg)"] == 2
    assert sum(v for k, v in info["skipped"].items() if "zip bomb" in k) == 1
    with zipfile.ZipFile(tmp_path / "out/cifake.zip") as z:
        names = z.namelist()
    assert len(names) == 8 and all(cifake.split_and_label(n) for n in names)


def test_a_wrapping_folder_and_an_extracted_folder_give_the_same_archive(tmp_path):
    plain = cifake_zip(tmp_path / "plain.zip", per_group=2)
    wrapped = tmp_path / "wrapped.zip"
    folder = tmp_path / "extracted" / "cifake"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(wrapped, "w") as dst:
        for name in src.namelist():
            dst.writestr(f"cifake/{name}", src.read(name))
            if not name.endswith("/"):
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(src.read(name))
    (folder / "train/REAL/.DS_Store").write_bytes(b"junk")
    a = cifake.prepare(str(wrapped), "", tmp_path / "a")
    b = cifake.prepare(str(tmp_path / "extracted"), "", tmp_path / "b")
    c = cifake.prepare(str(tmp_path / "extracted"), "", tmp_path / "c")
    assert a["counts"] == b["counts"] and a["pictures"] == 8
    assert b["archive_sha256"] == c["archive_sha256"]  # packing is deterministic
    assert b["skipped"] == {"unexpected member (not {train,test}/{REAL,FAKE}/*.jpg)": 1}
    for out in ("a", "b"):
        with zipfile.ZipFile(tmp_path / out / "cifake.zip") as z:
            assert sorted(z.namelist())[0] == "test/FAKE/0 (FAKE).jpg"


def test_kaggle_offline_says_how_to_point_at_a_local_copy(tmp_path, monkeypatch):
    import kagglehub

    def offline(handle):
        raise ConnectionError("Failed to resolve 'www.kaggle.com'")

    monkeypatch.setattr(kagglehub, "dataset_download", offline)
    with pytest.raises(DatasetError, match="set cifake.source") as caught:
        cifake.prepare("kaggle", "birdy654/cifake", tmp_path / "out")
    assert "\n" not in str(caught.value) and "cifake.zip" in str(caught.value)
    assert not (tmp_path / "out").exists()


def _stage(tmp_path: Path, module: str, **sections) -> subprocess.CompletedProcess:
    raw = copy.deepcopy(SHIPPED)
    for name, values in sections.items():
        raw[name].update(values)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PARAMS_OVERLAY", None)
    return subprocess.run(
        [sys.executable, "-m", module],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("case", ["missing", "not a zip", "wrong layout"])
def test_cifake_stage_errors_are_one_line(tmp_path, case):
    source = tmp_path / "cifake.zip"
    if case == "not a zip":
        source.write_text("<html>not found</html>")
    elif case == "wrong layout":
        with zipfile.ZipFile(source, "w") as z:
            z.writestr("train/REAL/a.jpg", jpeg(1))
            z.writestr("train/FAKE/a.jpg", jpeg(2))
            z.writestr("test/REAL/a.jpg", jpeg(3))
    result = _stage(tmp_path, "pipeline.cifake", cifake={"source": str(source)})
    assert result.returncode == 1, result.stderr
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("error: cifake: ")
    expected = {
        "missing": "does not exist; set cifake.source",
        "not a zip": "not a readable zip archive",
        "wrong layout": "wrong layout, no pictures in test/FAKE",
    }[case]
    assert expected in line
    assert not (tmp_path / "data/cifake").exists()


# --- merge ---


def odd_files() -> dict[str, bytes]:
    truncated = jpeg(7, size=64)[:300]
    html = b"<!doctype html><html><body>Not found</body></html>"
    alpha = make_image(40, 30, fmt="PNG", mode="RGBA", seed=3)
    gif = make_image(40, 30, fmt="GIF", mode="P", seed=4)
    deep = io.BytesIO()
    grey16 = (np.random.default_rng(5).integers(0, 65535, (30, 40))).astype(np.uint16)
    Image.fromarray(grey16).save(deep, "PNG")
    return {
        "truncated": truncated,
        "html": html,
        "alpha": alpha,
        "gif": gif,
        "png16": deep.getvalue(),
    }


def test_odd_and_corrupt_files_are_kept_or_skipped_with_their_reason(tmp_path):
    archive = cifake_zip(
        tmp_path / "c.zip", per_group=4, extra={"train/FAKE/broken.jpg": jpeg(99)[:200]}
    )
    odd = odd_files()
    add_scraped(tmp_path / "scraped", "web", list(odd.values()), "real")
    (tmp_path / "scraped/web/manifest.jsonl").open("a").write("{not json\n")
    _, summary = build(tmp_path, archive, {"web": "real"})
    assert summary["skipped"]["cifake"] == {"corrupt or truncated image": 1}
    assert summary["skipped"]["scraped"] == {
        "an HTML page, not an image": 1,
        "corrupt or truncated image": 1,
        "unreadable manifest line": 1,
    }
    frame = merge.load_manifest(tmp_path / "merged")
    web = frame[frame["source"] == "scraped"]
    assert sorted(web["format"]) == ["GIF", "PNG", "PNG"] and set(web["label"]) == {1}
    assert len(frame) == 16 + 3 and summary["keywords"] == {"web": 3}


def test_a_missing_keyword_folder_is_one_clear_error(tmp_path):
    archive = cifake_zip(tmp_path / "c.zip", per_group=2)
    with pytest.raises(DatasetError, match=r"scraped/animals not found: run its scrape stage"):
        build(tmp_path, archive, {"animals": "real"})


def test_duplicates_within_and_across_splits_and_sources(tmp_path):
    shared = jpeg(500)
    near_original = jpeg(501, quality=95)
    near_copy = io.BytesIO()
    Image.fromarray(decode_image(near_original)).save(near_copy, "JPEG", quality=80)
    extra = {
        "test/REAL/shared.jpg": shared,
        "train/REAL/shared-copy.jpg": shared,  # in test too: leaves train
        "train/FAKE/near-a.jpg": near_original,
        "train/FAKE/near-b.jpg": near_copy.getvalue(),  # re-encoded: a near duplicate
        "test/FAKE/t1.jpg": jpeg(502),
        "test/FAKE/t2.jpg": jpeg(502),  # duplicates inside CIFAKE's test: both stay
    }
    archive = cifake_zip(tmp_path / "c.zip", per_group=6, extra=extra)
    # a scraped PNG of a CIFAKE test picture: same pixels, another file
    png = io.BytesIO()
    Image.fromarray(decode_image(shared)).save(png, "PNG")
    add_scraped(tmp_path / "scraped", "web", [png.getvalue(), jpeg(600, size=64)], "ai")
    _, summary = build(tmp_path, archive, {"web": "ai"}, fraction=0.0)
    removed = summary["duplicates_removed"]
    frame = merge.load_manifest(tmp_path / "merged").set_index("id")
    assert not frame.loc["cifake/train/REAL/shared-copy.jpg", "keep"]
    assert (
        frame.loc["cifake/train/REAL/shared-copy.jpg", "duplicate_of"]
        == "cifake/test/REAL/shared.jpg"
    )
    assert frame.loc["cifake/test/REAL/shared.jpg", "keep"]
    assert frame.loc[["cifake/test/FAKE/t1.jpg", "cifake/test/FAKE/t2.jpg"], "keep"].all()
    near = frame.loc[["cifake/train/FAKE/near-a.jpg", "cifake/train/FAKE/near-b.jpg"]]
    assert near["keep"].sum() == 1 and set(near["duplicate_kind"]) == {"", "near"}
    assert removed["exact_across_split"] == 2  # the train copy, and the scraped PNG
    assert removed["near_within_split"] == 1 and removed["across_source"] == 1
    assert removed["scraped"] == 1 and removed["cifake"] == 2 and removed["total"] == 3
    assert removed["cifake_test_duplicates_kept"] == 1


def test_scraped_split_is_stable_as_pictures_are_added(tmp_path):
    archive = cifake_zip(tmp_path / "c.zip", per_group=2)
    add_scraped(tmp_path / "scraped", "web", [jpeg(1000 + i, size=48) for i in range(20)], "ai")
    build(tmp_path, archive, {"web": "ai"}, fraction=0.4)
    before = merge.load_manifest(tmp_path / "merged").set_index("id")["split"]
    add_scraped(
        tmp_path / "scraped",
        "web",
        [jpeg(2000 + i, size=48) for i in range(20)],
        "ai",
        file_key=True,
    )
    build(tmp_path, archive, {"web": "ai"}, fraction=0.4)
    after = merge.load_manifest(tmp_path / "merged").set_index("id")["split"]
    assert len(after) == len(before) + 20
    assert (after[before.index] == before).all()
    assert {"train", "test"} <= set(after[after.index.str.startswith("scraped/")])
    assert scraped.stable_split("0" * 64, 0.2) == "test"
    assert scraped.stable_split("f" * 64, 0.2) == "train"


# --- preprocess ---


def test_prepared_arrays_are_load_image_of_every_picture(tmp_path):
    archive = cifake_zip(tmp_path / "c.zip", per_group=8)
    big = [jpeg(3000 + i, size=96) for i in range(4)]  # decoded in draft mode by load_image
    add_scraped(tmp_path / "scraped", "web", big + [make_image(50, 40, fmt="PNG", seed=9)], "real")
    build(tmp_path, archive, {"web": "real"}, fraction=0.5)
    report = run_preprocess(tmp_path, size=36, workers=2)
    frame = merge.load_manifest(tmp_path / "merged").set_index("id")
    seen = 0
    with zipfile.ZipFile(tmp_path / "cifake/cifake.zip") as z:
        for split in ("train", "val", "test"):
            data = arrays(tmp_path, split)
            assert data["x"].dtype == np.uint8 and data["x"].shape[1:] == (36, 36, 3)
            assert data["y"].dtype == np.uint8 and set(data["source"]) <= {"cifake", "scraped"}
            for x, y, ident in zip(data["x"], data["y"], data["id"], strict=True):
                row = frame.loc[ident]
                raw = z.read(row["member"]) if row["member"] else Path(row["path"]).read_bytes()
                assert (x == load_image(raw, 36)).all(), ident
                assert y == (1 if "/REAL/" in ident or ident.startswith("scraped") else 0)
                seen += 1
    assert seen == 32 + 5 == sum(report["total"].values())
    meta = json.loads((tmp_path / "prepared/meta.json").read_text())
    assert meta["image_size"] == 36 and set(meta["class_weight"]) == {"0", "1"}
    assert report["counts"]["test"]["cifake"] == {"ai": 8, "real": 8}
    assert Image.open(tmp_path / "reports/images/samples.png").format == "PNG"
    assert json.loads((tmp_path / "reports/dataset.json").read_text()) == report


def test_a_picture_broken_after_merge_is_skipped_and_the_rest_stay_aligned(tmp_path):
    archive = cifake_zip(tmp_path / "c.zip", per_group=4)
    shas = add_scraped(tmp_path / "scraped", "web", [jpeg(5000 + i, 48) for i in range(6)], "real")
    build(tmp_path, archive, {"web": "real"}, fraction=0.5)
    broken = next((tmp_path / "scraped/web").glob(f"{shas[2][:16]}.*"))
    broken.write_bytes(b"<html>gone</html>")  # not in merge's 32x32 store: decoded again
    report = run_preprocess(tmp_path, workers=2)
    assert report["skipped"]["preprocess"] == {"an HTML page, not an image": 1}
    frame = merge.load_manifest(tmp_path / "merged").set_index("id")
    with zipfile.ZipFile(tmp_path / "cifake/cifake.zip") as z:
        for split in ("train", "val", "test"):
            data = arrays(tmp_path, split)
            assert len(data["x"]) == len(data["id"])
            for x, ident in zip(data["x"], data["id"], strict=True):
                row = frame.loc[ident]
                raw = z.read(row["member"]) if row["member"] else Path(row["path"]).read_bytes()
                assert (x == load_image(raw, 36)).all(), ident
    assert sum(report["total"].values()) == 16 + 6 - 1


@pytest.mark.parametrize("balance", ["none", "class_weights", "oversample", "smote"])
def test_balance_options_touch_the_training_split_only(tmp_path, balance):
    archive = cifake_zip(tmp_path / "c.zip", per_group=10)
    add_scraped(tmp_path / "scraped", "web", [jpeg(4000 + i) for i in range(30)], "real")
    build(tmp_path, archive, {"web": "real"}, fraction=0.0)
    report = run_preprocess(tmp_path, balance=balance)
    train, val, test = (arrays(tmp_path, s) for s in ("train", "val", "test"))
    real, ai = int((train["y"] == 1).sum()), int((train["y"] == 0).sum())
    assert (val["y"] == 1).sum() == 8 and (val["y"] == 0).sum() == 2  # 20% of each group
    assert len(test["y"]) == 20
    meta = json.loads((tmp_path / "prepared/meta.json").read_text())
    if balance in ("oversample", "smote"):
        assert real == ai == 32 and report["resampled"] == {"ai": 24}
    else:
        assert (real, ai) == (32, 8)
    if balance == "class_weights":
        assert meta["class_weight"] == {"0": 2.5, "1": 0.625}
    else:
        assert meta["class_weight"] is None
    if balance == "smote":
        assert (train["source"] == "smote").sum() == 24 and train["x"].dtype == np.uint8
    if balance == "oversample":  # each copy's pixels are its original's
        position = {ident: k for k, ident in enumerate(train["id"])}
        for k, ident in enumerate(train["id"]):
            if "#copy" in ident:
                assert (train["x"][k] == train["x"][position[ident.split("#")[0]]]).all()
    assert len(set(train["id"])) == len(train["id"])
    assert not set(train["id"]) & set(val["id"]) and not set(train["id"]) & set(test["id"])


def test_the_split_is_seeded(tmp_path):
    archive = cifake_zip(tmp_path / "c.zip", per_group=20)
    build(tmp_path, archive, {})
    run_preprocess(tmp_path, seed=1)
    first = arrays(tmp_path, "val")["id"]
    run_preprocess(tmp_path, seed=1)
    assert (arrays(tmp_path, "val")["id"] == first).all()
    run_preprocess(tmp_path, seed=2)
    assert set(arrays(tmp_path, "val")["id"]) != set(first)


def _digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_a_killed_preprocess_leaves_no_partial_output_and_a_rerun_is_identical(tmp_path):
    archive = cifake_zip(tmp_path / "c.zip", per_group=300)
    build(tmp_path, archive, {})
    params = {"image_size": 36, "val_fraction": 0.1, "balance": "oversample", "seed": 3}

    def start():
        return subprocess.Popen(
            [sys.executable, "-m", "pipeline.preprocess"],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    raw = copy.deepcopy(SHIPPED)
    raw["preprocess"].update(params)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    (tmp_path / "data").mkdir(exist_ok=True)
    for name in ("cifake", "merged"):
        os.replace(tmp_path / name, tmp_path / "data" / name)
    began = time.monotonic()
    process = start()
    assert process.wait(120) == 0, process.stderr.read()
    duration = time.monotonic() - began
    reference = _digest(tmp_path / "data/prepared")
    assert set(reference) == {
        f"{s}{ext}" for s in preprocess.SPLITS for ext in (".npz", ".x.npy")
    } | {"meta.json"}
    for fraction in (0.5, 0.7, 0.8, 0.9, 0.95):
        process = start()
        time.sleep(duration * fraction)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        prepared = tmp_path / "data/prepared"
        if prepared.exists():  # the old output, or the new one complete: never half
            assert _digest(prepared) == reference
        process = start()
        assert process.wait(120) == 0, process.stderr.read()
        assert _digest(prepared) == reference
        leftovers = [p.name for p in (tmp_path / "data").iterdir() if p.name.startswith(".")]
        assert leftovers == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")
def test_decoding_workers_end_when_their_parent_is_killed():
    # The workers sleep a minute each: only their parent's death can end them sooner.
    script = "import time\nfrom dataset import decode\nlist(decode._map(time.sleep, [60] * 4, 2))\n"
    process = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    deadline = time.monotonic() + 60
    while len(workers := descendants(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(workers) == 2, "the pool did not start its two workers"
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    deadline = time.monotonic() + 15
    while any(map(process_running, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [pid for pid in workers if process_running(pid)]
    for pid in survivors:  # do not leave them behind either way
        os.kill(pid, signal.SIGKILL)
    assert survivors == [], "decoding workers outlived their killed parent"


# --- fingerprints and duplicate search ---


def test_batched_perceptual_hashes_equal_imagehash():
    rng = np.random.default_rng(0)
    pictures = [decode_image(jpeg(i)) for i in range(200)]
    pictures += [
        rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(5, 9), (64, 48), (33, 32)]
    ]
    pictures += [np.zeros((32, 32, 3), np.uint8), np.full((32, 32, 3), 128, np.uint8)]
    expected = [str(imagehash.phash(Image.fromarray(p))) for p in pictures]
    assert perceptual_hashes(pictures) == expected
    assert perceptual_hash(pictures[0]) == expected[0] and perceptual_hashes([]) == []


def test_the_fast_grey_conversion_is_pillows_for_every_colour():
    every = np.arange(1 << 24, dtype=np.uint32)
    rgb = np.stack([every >> 16, (every >> 8) & 255, every & 255], axis=-1).astype(np.uint8)
    rgb = rgb.reshape(4096, 4096, 3)
    pillow = np.asarray(Image.fromarray(rgb).convert("L"))
    wide = rgb.astype(np.uint32)
    ours = (wide[..., 0] * 19595 + wide[..., 1] * 38470 + wide[..., 2] * 7471 + 0x8000) >> 16
    assert (pillow == ours).all()


def test_vectorised_near_pairs_match_the_index():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 2**63, 300, dtype=np.uint64)
    flips = np.uint64(1) << rng.integers(0, 64, (300, 3)).astype(np.uint64)
    values = np.unique(
        np.concatenate([base, base ^ flips[:, 0], base ^ flips[:, 0] ^ flips[:, 1] ^ flips[:, 2]])
    )
    for distance in (0, 2, 4, 7):
        i, j, d = dedup.near_pairs(values, distance)
        found = {(int(a), int(b), int(c)) for a, b, c in zip(i, j, d, strict=True)}
        index = NearDuplicateIndex(distance)
        expected = set()
        for k, v in enumerate(values):
            hexed = f"{int(v):016x}"
            for other, dist in index.find(hexed):
                expected.add((other, k, dist))
            index.add(hexed, k)
        assert found == expected


def test_pixel_hash_is_about_pixels_not_files():
    png = io.BytesIO()
    rgb = decode_image(jpeg(5))
    Image.fromarray(rgb).save(png, "PNG")
    assert pixel_sha256(decode_image(png.getvalue())) == pixel_sha256(rgb)


# --- progress bars (settings/progress.py) ---


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
def test_each_data_step_shows_a_bar_on_a_terminal_only(tmp_path, monkeypatch, terminal):
    stream = TerminalStream() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    wrapped = tmp_path / "wrapped.zip"  # a wrapping folder: the archive is repacked
    source = cifake_zip(tmp_path / "c.zip", per_group=3)
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(wrapped, "w") as out:
        for info in src.infolist():
            out.writestr("cifake/" + info.filename, src.read(info))
    add_scraped(tmp_path / "scraped", "cats", [jpeg(s, 64) for s in range(4)], "real")
    build(tmp_path, wrapped, {"cats": "real"})
    run_preprocess(tmp_path)
    (tmp_path / "web-pictures").mkdir()
    rows = web_rows(tmp_path / "web-pictures", n=6)
    store_features(rows, StubExtractor(), 4, 36, WEB_CROPS, out=tmp_path / "web")
    shown = stream.getvalue()
    steps = ("cifake: repack", "merge: decode + hash", "preprocess: resize", "web_features")
    if terminal:
        assert all(f"{step}:" in shown for step in steps), shown
    else:
        assert shown == ""
