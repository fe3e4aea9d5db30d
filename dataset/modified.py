"""The modified set: real pictures edited in one region, and its on-disk format.

The edits are the local ones seen on social media: a gaussian blur, a brightness and
colour shift, a copy-move within the picture, and a region pasted from an AI-generated
picture. Each is blended in through a feathered mask, so pixels outside the region
are exactly the real picture's. A split's pictures are edited with that split's
pictures only (the AI donor of a paste too), from a generator seeded by
`modify.seed` and the split's name, so reruns give the same bytes.

data/modified/ holds, per split, <split>.x.npy (pixels, (N, S, S, 3) uint8 RGB) and
<split>.npz (kind, side, area, box, strength, real_id, real_source, donor_id,
donor_box, mask), plus meta.json (settings, counts per kind and side).
Boxes are (top, left, height, width) in pixels; -1 where there is none.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from dataset.atomic import atomic_dir
from dataset.errors import DatasetError
from dataset.prepared import SPLITS, Split
from settings.errors import first_line
from settings.params import MODIFY_KINDS as KINDS

MODIFIED = Path("data/modified")
X_FILE = ".x.npy"
META_FILE = "meta.json"
NO_BOX = (-1, -1, -1, -1)
RECORDS = ("kind", "side", "area", "box", "strength", "real_id", "real_source", "donor_id",
           "donor_box", "mask")  # fmt: skip


@dataclass(frozen=True)
class ModifiedSet:
    """One split's modified pictures and, per picture, how each was made.

    mask is uint8 (N, S, S): 255 where the edit replaced the picture, fading to 0 at
    the region's border; the pixels are mask/255 * edited + (1 - mask/255) * real.
    """

    name: str
    x: np.ndarray
    kind: np.ndarray
    side: np.ndarray  # the region side as a share of the picture's (a modify.region_sides value)
    area: np.ndarray  # the region box's share of the picture's area
    box: np.ndarray  # (N, 4) int16
    strength: np.ndarray  # blur sigma, brightness gain, 1.0 for copies and pastes
    real_id: np.ndarray  # the prepared id of the real picture that was edited
    real_source: np.ndarray  # its source: cifake or scraped
    donor_id: np.ndarray  # the AI picture a paste took its region from, "" otherwise
    donor_box: np.ndarray  # (N, 4): where in the donor (paste) or the picture (copy-move)
    mask: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)

    def subset(self, rows) -> ModifiedSet:
        return ModifiedSet(self.name, self.x[rows], *(getattr(self, r)[rows] for r in RECORDS))


def split_rng(seed: int, split: str) -> np.random.Generator:
    """The generator of one split: the same seed gives each split its own stream."""
    return np.random.default_rng([seed, zlib.crc32(split.encode())])


def region_mask(size: int, box, feather: int) -> np.ndarray:
    """uint8 (size, size): 255 inside the box, fading linearly over `feather` pixels
    inside its border, 0 outside (a soft brush; a hard edge would be an easy clue)."""
    top, left, height, width = box
    if height < 1 or width < 1 or top < 0 or left < 0 or top + height > size or left + width > size:
        raise DatasetError(f"region {tuple(box)} does not fit a {size}x{size} picture")
    ramps = []
    for start, length in ((top, height), (left, width)):
        inside = np.arange(length)
        distance = np.minimum(inside, length - 1 - inside) + 1  # 1 on the border pixel
        ramp = np.zeros(size, np.float32)
        ramp[start : start + length] = np.minimum(1.0, distance / (feather + 1))
        ramps.append(ramp)
    return np.rint(255 * np.minimum(ramps[0][:, None], ramps[1][None, :])).astype(np.uint8)


def blend(picture: np.ndarray, edited: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The picture with `edited` let in where the mask is; exactly the picture where it is 0."""
    if picture.shape != edited.shape or picture.shape[:2] != mask.shape:
        raise DatasetError(
            f"picture {picture.shape}, edit {edited.shape} and mask {mask.shape} differ in size"
        )
    weight = mask.astype(np.float32)[..., None] / 255
    mixed = picture.astype(np.float32) * (1 - weight) + edited.astype(np.float32) * weight
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def local_blur(picture: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    blurred = cv2.GaussianBlur(picture.astype(np.float32), (0, 0), sigmaX=float(sigma))
    return blend(picture, blurred, mask)


def local_colour(picture: np.ndarray, mask: np.ndarray, gains) -> np.ndarray:
    """Each channel of the region multiplied by its gain (brightness times a colour cast)."""
    shifted = picture.astype(np.float32) * np.asarray(gains, np.float32)
    return blend(picture, np.clip(shifted, 0, 255), mask)


def copy_move(picture: np.ndarray, mask: np.ndarray, box, from_box) -> np.ndarray:
    """The region `box` replaced by the picture's own region `from_box` (same size)."""
    edited = picture.copy()
    edited[_rows(box)] = picture[_rows(from_box)]
    return blend(picture, edited, mask)


def paste(picture: np.ndarray, mask: np.ndarray, box, donor: np.ndarray, donor_box) -> np.ndarray:
    """The region `box` replaced by region `donor_box` of another picture."""
    edited = picture.copy()
    edited[_rows(box)] = donor[_rows(donor_box)]
    return blend(picture, edited, mask)


def _rows(box) -> tuple[slice, slice]:
    top, left, height, width = (int(v) for v in box)
    return slice(top, top + height), slice(left, left + width)


def make_modified(split: Split, settings) -> ModifiedSet:
    """`modify.fraction` of each source's real pictures of `split`, each edited once.

    Kinds and region sides come in equal shares, shuffled; `settings` is a
    settings.params.Modify.
    """
    rng = split_rng(settings.seed, split.name)
    chosen = _choose_real(split, settings.fraction, rng)
    donors = _donors(split, "paste_ai" in settings.kinds)
    order = rng.permutation(len(chosen))
    n_kinds, n_sides = len(settings.kinds), len(settings.region_sides)
    rows = []
    for i, row in enumerate(chosen):
        kind = settings.kinds[order[i] % n_kinds]
        side = settings.region_sides[(order[i] // n_kinds) % n_sides]
        rows.append(_edit_one(split, row, kind, side, settings, donors, rng))
    return _collect(split, rows)


def _choose_real(split: Split, fraction: float, rng: np.random.Generator) -> np.ndarray:
    real = np.flatnonzero(split.y == 1)
    if not len(real):
        raise DatasetError(f"split {split.name} has no real pictures to modify")
    chosen = []
    for source in sorted(set(split.source[real])):
        mine = real[split.source[real] == source]
        count = max(1, round(fraction * len(mine)))
        chosen.append(np.sort(rng.choice(mine, size=count, replace=False)))
    return np.concatenate(chosen)


def _donors(split: Split, needed: bool) -> dict[str, np.ndarray]:
    """The split's AI pictures by source ("" = any source), to paste regions from."""
    ai = np.flatnonzero(split.y == 0)
    if needed and not len(ai):
        raise DatasetError(
            f"modify.kinds has paste_ai but split {split.name} has no AI pictures to take from"
        )
    by_source = {s: ai[split.source[ai] == s] for s in set(split.source[ai])}
    return {"": ai, **by_source}


def _edit_one(split, row, kind, side, settings, donors, rng) -> dict:
    picture = split.x[row]
    size = picture.shape[0]
    pixels = max(2, round(side * size))
    box = (*rng.integers(0, size - pixels + 1, 2), pixels, pixels)
    mask = region_mask(size, box, round(settings.feather * pixels))
    record = {"kind": kind, "side": side, "box": box, "mask": mask, "strength": 1.0,
              "real_id": split.id[row], "real_source": split.source[row], "donor_id": "",
              "donor_box": NO_BOX}  # fmt: skip
    if kind == "blur":
        record["strength"] = rng.uniform(*settings.blur_sigma)
        record["x"] = local_blur(picture, mask, record["strength"])
    elif kind == "colour":
        gain = 1 + rng.choice((-1, 1)) * rng.uniform(*settings.brightness)
        record["strength"] = gain
        gains = gain * (1 + rng.uniform(-settings.colour, settings.colour, 3))
        record["x"] = local_colour(picture, mask, gains)
    elif kind == "copy_move":
        record["donor_box"] = (*_elsewhere(box, size, rng), pixels, pixels)
        record["x"] = copy_move(picture, mask, box, record["donor_box"])
    else:
        pool = donors.get(split.source[row], donors[""])
        donor = pool[rng.integers(len(pool))]
        record["donor_id"] = split.id[donor]
        record["donor_box"] = (*rng.integers(0, size - pixels + 1, 2), pixels, pixels)
        record["x"] = paste(picture, mask, box, split.x[donor], record["donor_box"])
    return record


def _elsewhere(box, size: int, rng: np.random.Generator) -> tuple[int, int]:
    """A corner for the copy's source at least half a region side away from `box`."""
    top, left, pixels, _ = box
    corners = np.arange(size - pixels + 1)
    tops, lefts = np.meshgrid(corners, corners, indexing="ij")
    far = np.maximum(abs(tops - top), abs(lefts - left)) >= max(1, pixels // 2)
    candidates = np.stack([tops[far], lefts[far]], axis=1)
    return tuple(int(v) for v in candidates[rng.integers(len(candidates))])


def _collect(split: Split, rows: list[dict]) -> ModifiedSet:
    size = split.x.shape[1]
    return ModifiedSet(
        name=split.name,
        x=np.stack([r["x"] for r in rows]),
        kind=np.array([r["kind"] for r in rows], dtype=str),
        side=np.array([r["side"] for r in rows], np.float32),
        area=np.array([r["box"][2] * r["box"][3] / size**2 for r in rows], np.float32),
        box=np.array([r["box"] for r in rows], np.int16),
        strength=np.array([r["strength"] for r in rows], np.float32),
        real_id=np.array([r["real_id"] for r in rows], dtype=str),
        real_source=np.array([r["real_source"] for r in rows], dtype=str),
        donor_id=np.array([r["donor_id"] for r in rows], dtype=str),
        donor_box=np.array([r["donor_box"] for r in rows], np.int16),
        mask=np.stack([r["mask"] for r in rows]),
    )


def counts(sets) -> dict:
    """{split: {kind: {side: n}}} of ModifiedSets."""
    table = {}
    for s in sets:
        pairs = Counter(zip(s.kind.tolist(), s.side.tolist(), strict=True))
        for (kind, side), n in sorted(pairs.items()):
            table.setdefault(s.name, {}).setdefault(kind, {})[f"{side:g}"] = n
    return table


def write_modified(sets, settings, folder: Path | str = MODIFIED) -> None:
    """Write every split's ModifiedSet and meta.json into `folder`, whole or not at all."""
    with atomic_dir(folder) as temp:
        for s in sets:
            np.save(temp / f"{s.name}{X_FILE}", s.x, allow_pickle=False)
            np.savez_compressed(temp / f"{s.name}.npz", **{r: getattr(s, r) for r in RECORDS})
        meta = {"image_size": int(sets[0].x.shape[1]) if sets else None,
                "settings": asdict(settings), "counts": counts(sets)}  # fmt: skip
        (temp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def load_meta(folder: Path | str = MODIFIED) -> dict:
    """data/modified/meta.json (image_size, settings, counts); one line when unreadable."""
    path = Path(folder) / META_FILE
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DatasetError(f"{path} is not readable JSON ({first_line(e, 120)})") from None
    if not isinstance(meta, dict):
        raise DatasetError(f"{path} must hold a JSON object")
    return meta


def load_modified(name: str, folder: Path | str = MODIFIED) -> ModifiedSet:
    """Read and check one split's modified pictures; any problem is one line."""
    if name not in SPLITS:
        raise DatasetError(f"unknown split {name!r} (known: {', '.join(SPLITS)})")
    path, x_path = Path(folder) / f"{name}.npz", Path(folder) / f"{name}{X_FILE}"
    for required in (path, x_path):
        if not required.is_file():
            raise DatasetError(f"{required} not found; run the modify stage first")
    try:
        x = np.load(x_path, allow_pickle=False)
        with np.load(path, allow_pickle=False) as arrays:
            missing = [r for r in RECORDS if r not in arrays.files]
            if missing:
                raise DatasetError(f"{path} lacks array {missing[0]}")
            records = {r: arrays[r] for r in RECORDS}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise DatasetError(
            f"{path} is not a readable modified set ({first_line(e, 120)})"
        ) from None
    _check(path, x, records)
    for text in ("kind", "real_id", "real_source", "donor_id"):
        records[text] = records[text].astype(str)
    return ModifiedSet(name, x, **records)


def _check(path: Path, x: np.ndarray, records: dict) -> None:
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] != 3 or x.shape[1] != x.shape[2]:
        raise DatasetError(f"{path}: x must be (N, S, S, 3) uint8, got {x.shape} {x.dtype}")
    lengths = {r: len(v) for r, v in records.items()}
    if set(lengths.values()) != {len(x)}:
        raise DatasetError(f"{path}: pixels and records have different lengths {lengths}")
    if records["mask"].shape != x.shape[:3] or records["mask"].dtype != np.uint8:
        raise DatasetError(f"{path}: mask must be (N, S, S) uint8, got {records['mask'].shape}")
    unknown = sorted(set(records["kind"].astype(str).tolist()) - set(KINDS))
    if unknown:
        raise DatasetError(f"{path}: unknown kind {unknown[0]!r} (known: {', '.join(KINDS)})")
