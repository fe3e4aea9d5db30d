"""The modified set: each edit stays inside its region, draws are seeded, donors come
from the same split, the format round-trips and every problem is one line."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dataset import modified
from dataset.errors import DatasetError
from dataset.modified import (
    blend,
    copy_move,
    load_meta,
    load_modified,
    local_blur,
    local_colour,
    make_modified,
    paste,
    region_mask,
    write_modified,
)
from dataset.prepared import Split
from settings.params import MODIFY_KINDS, Modify
from tests.helpers import make_arrays

SIZE = 36


def textured_split(name: str, n: int = 72, seed: int = 0) -> Split:
    """Half real, half ai, two sources; textured so every edit changes pixels."""
    arrays = make_arrays(n, SIZE, seed)
    arrays["x"] = np.random.default_rng(seed).integers(0, 256, arrays["x"].shape, np.uint8)
    arrays["id"] = np.array([f"{name}/{i}" for i in range(n)])
    return Split(name, **arrays)


def originals(split: Split, made) -> np.ndarray:
    rows = {picture_id: i for i, picture_id in enumerate(split.id)}
    return split.x[[rows[i] for i in made.real_id]]


@pytest.fixture(scope="module")
def train_split() -> Split:
    return textured_split("train")


@pytest.fixture(scope="module")
def made(train_split):
    return make_modified(train_split, Modify())


def test_region_mask_is_the_box_with_a_soft_border():
    mask = region_mask(SIZE, (4, 6, 10, 12), feather=2)
    assert mask.dtype == np.uint8 and mask.shape == (SIZE, SIZE)
    inside = np.zeros((SIZE, SIZE), bool)
    inside[4:14, 6:18] = True
    assert not mask[~inside].any()
    assert (mask[7:11, 9:15] == 255).all()  # three pixels in from the border
    assert 0 < mask[4, 10] < mask[5, 10] < mask[6, 10] == 255  # the fade, outside in
    hard = region_mask(SIZE, (4, 6, 10, 12), feather=0)
    assert (hard[inside] == 255).all() and not hard[~inside].any()


@pytest.mark.parametrize("box", [(30, 0, 8, 8), (-1, 0, 4, 4), (0, 0, 0, 4)])
def test_a_region_outside_the_picture_is_one_line(box):
    with pytest.raises(DatasetError, match=r"does not fit a 36x36 picture$"):
        region_mask(SIZE, box, 1)


def _edits(picture, donor, box, other):
    mask = region_mask(SIZE, box, 2)
    return mask, {
        "blur": local_blur(picture, mask, 1.5),
        "colour": local_colour(picture, mask, (1.3, 1.2, 1.4)),
        "copy_move": copy_move(picture, mask, box, other),
        "paste_ai": paste(picture, mask, box, donor, other),
    }


def test_each_edit_changes_only_inside_its_region():
    rng = np.random.default_rng(3)
    picture, donor = rng.integers(0, 200, (2, SIZE, SIZE, 3), np.uint8)
    mask, edits = _edits(picture, donor, (5, 20, 12, 12), (22, 2, 12, 12))
    assert set(edits) == set(MODIFY_KINDS)
    for kind, edited in edits.items():
        assert edited.dtype == np.uint8 and edited.shape == picture.shape, kind
        np.testing.assert_array_equal(edited[mask == 0], picture[mask == 0], err_msg=kind)
        assert (edited[mask == 255] != picture[mask == 255]).mean() > 0.5, kind
    core = mask == 255
    np.testing.assert_array_equal(edits["paste_ai"][core], donor[22:34, 2:14][core[5:17, 20:32]])
    np.testing.assert_array_equal(edits["copy_move"][core], picture[22:34, 2:14][core[5:17, 20:32]])


def test_blend_refuses_mismatched_sizes():
    picture = np.zeros((SIZE, SIZE, 3), np.uint8)
    with pytest.raises(DatasetError, match="differ in size"):
        blend(picture, picture, np.zeros((8, 8), np.uint8))


def test_the_set_changes_each_picture_only_inside_its_mask(train_split, made):
    before = originals(train_split, made)
    outside = made.mask == 0
    np.testing.assert_array_equal(made.x[outside], before[outside])
    changed = (made.x != before).any(axis=-1) & (made.mask == 255)
    assert changed.reshape(len(made), -1).any(axis=1).all()  # every picture was edited
    top, left, height, width = made.box.T
    assert ((top >= 0) & (left >= 0) & (top + height <= SIZE) & (left + width <= SIZE)).all()
    np.testing.assert_allclose(made.area, height * width / SIZE**2)
    for i in range(len(made)):  # the mask lies in the recorded box
        t, lft, h, w = made.box[i]
        assert made.mask[i].sum() == made.mask[i, t : t + h, lft : lft + w].sum()


def test_kinds_sides_and_sources_come_in_shares(train_split, made):
    real = train_split.subset(train_split.y == 1)
    for source in ("cifake", "scraped"):  # modify.fraction of each source's real pictures
        assert (made.real_source == source).sum() == round(0.5 * (real.source == source).sum())
    assert len(set(made.real_id)) == len(made) and set(made.real_id) <= set(real.id)
    kinds = {k: (made.kind == k).sum() for k in MODIFY_KINDS}
    assert max(kinds.values()) - min(kinds.values()) <= 1
    assert set(made.side.tolist()) == set(Modify().region_sides)
    blur = made.kind == "blur"
    assert ((made.strength[blur] >= 1.0) & (made.strength[blur] <= 2.0)).all()


def test_same_seed_same_pictures_and_each_split_its_own_draw(train_split, made):
    again = make_modified(train_split, Modify())
    for name in ("x", *modified.RECORDS):
        np.testing.assert_array_equal(getattr(made, name), getattr(again, name), err_msg=name)
    other_seed = make_modified(train_split, Modify(seed=7))
    assert not np.array_equal(other_seed.box, made.box)
    renamed = make_modified(dataclasses.replace(train_split, name="val"), Modify())
    assert not np.array_equal(renamed.box, made.box)


def test_donors_come_from_the_split_itself():
    settings = Modify(kinds=["paste_ai", "copy_move"])
    for name, seed in (("train", 0), ("test", 1)):
        split = textured_split(name, seed=seed)
        made = make_modified(split, settings)
        pasted = made.kind == "paste_ai"
        ai = dict(zip(split.id[split.y == 0], split.source[split.y == 0], strict=True))
        assert pasted.any() and set(made.donor_id[pasted]) <= set(ai)
        # a web picture gets a web donor, a CIFAKE picture a CIFAKE donor
        assert all(ai[d] == s for d, s in zip(made.donor_id[pasted], made.real_source[pasted],
                                              strict=True))  # fmt: skip
        assert (made.donor_id[~pasted] == "").all()
        moved = made.kind == "copy_move"
        distance = np.abs(made.donor_box[moved, :2] - made.box[moved, :2]).max(axis=1)
        assert (distance >= made.box[moved, 2] // 2).all()  # copied from somewhere else


def test_round_trip(tmp_path, made):
    val = make_modified(textured_split("val", seed=5), Modify())
    write_modified([made, val], Modify(), tmp_path / "modified")
    back = load_modified("train", tmp_path / "modified")
    for name in ("x", *modified.RECORDS):
        np.testing.assert_array_equal(getattr(back, name), getattr(made, name), err_msg=name)
    assert back.kind.dtype.kind == "U" and len(back.subset(back.kind == "blur")) > 0
    meta = load_meta(tmp_path / "modified")
    assert meta["image_size"] == SIZE and meta["settings"]["seed"] == 42
    assert sum(meta["counts"]["val"]["blur"].values()) == (val.kind == "blur").sum()
    assert sorted(p.name for p in (tmp_path / "modified").iterdir()) == [
        "meta.json", "train.npz", "train.x.npy", "val.npz", "val.x.npy"]  # fmt: skip


def _broken(folder, made, **records):
    write_modified([made], Modify(), folder)
    arrays = {r: getattr(made, r) for r in modified.RECORDS}
    arrays.update({name: change(len(made)) for name, change in records.items()})
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(folder / "train.npz", **arrays)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mask": lambda n: None}, r"train\.npz lacks array mask$"),
        (
            {"kind": lambda n: np.array(["smudge"] * n)},
            r"unknown kind 'smudge' \(known: blur, .*\)$",
        ),
        ({"side": lambda n: np.zeros(3)}, r"pixels and records have different lengths"),
        ({"mask": lambda n: np.zeros((n, 4, 4), np.uint8)}, r"mask must be \(N, S, S\) uint8"),
    ],
)
def test_a_broken_set_is_one_line(tmp_path, made, change, message):
    _broken(tmp_path, made, **change)
    with pytest.raises(DatasetError, match=message) as caught:
        load_modified("train", tmp_path)
    assert "\n" not in str(caught.value)


def test_missing_files_and_bad_inputs_are_one_line(tmp_path, train_split):
    with pytest.raises(DatasetError, match=r"train\.npz not found; run the modify stage first$"):
        load_modified("train", tmp_path)
    with pytest.raises(DatasetError, match=r"^unknown split 'trian'"):
        load_modified("trian", tmp_path)
    (tmp_path / "train.npz").write_bytes(b"not a zip")
    (tmp_path / "train.x.npy").write_bytes(b"nor an array")
    with pytest.raises(DatasetError, match=r"is not a readable modified set \(.*\)$"):
        load_modified("train", tmp_path)
    with pytest.raises(DatasetError, match=r"meta\.json is not readable JSON"):
        load_meta(tmp_path)
    only_ai = train_split.subset(train_split.y == 0)
    with pytest.raises(DatasetError, match=r"^split train has no real pictures to modify$"):
        make_modified(only_ai, Modify())
    only_real = train_split.subset(train_split.y == 1)
    with pytest.raises(DatasetError, match=r"paste_ai but split train has no AI pictures"):
        make_modified(only_real, Modify())
    assert len(make_modified(only_real, Modify(kinds=["blur"]))) > 0
