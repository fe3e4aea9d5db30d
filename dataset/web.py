"""The web pictures in the patch view, on disk: one module that the prepare_web stage
writes with and training, evaluation and the container baseline read with.

data/web/ holds
- pixels.npy: every picture rescaled by `views.rescale_longer`, flattened one after
  another (uint8); pictures differ in shape, so they are stored end to end;
- index.npz: per picture its offset, height and width in pixels.npy, y (1 = real),
  split (train | val | test), group, keyword, id, and what the file alone tells
  (format, file bytes, width and height as stored, JPEG quality) for the baseline.

Splits: test is merge's stable hash split; val is the training pictures of the groups
held out in web.val_groups (whole groups, so it predicts pictures of unseen sources).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dataset.atomic import atomic_dir, write_json
from dataset.errors import DatasetError
from dataset.imaging import ImageError
from dataset.views import load_scaled
from settings.progress import bar

OUT = Path("data/web")
PIXELS = "pixels.npy"
INDEX = "index.npz"
SUMMARY = "summary.json"
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "OTHER")


@dataclass(frozen=True)
class WebSet:
    """Web pictures of one or more splits; `picture(i)` is the rescaled (h, w, 3) array."""

    pixels: np.ndarray
    offset: np.ndarray
    height: np.ndarray
    width: np.ndarray
    y: np.ndarray
    split: np.ndarray
    group: np.ndarray
    keyword: np.ndarray
    id: np.ndarray
    file_format: np.ndarray
    file_bytes: np.ndarray
    file_width: np.ndarray
    file_height: np.ndarray
    jpeg_quality: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def picture(self, i: int) -> np.ndarray:
        h, w = int(self.height[i]), int(self.width[i])
        start = int(self.offset[i])
        return self.pixels[start : start + h * w * 3].reshape(h, w, 3)

    def subset(self, mask: np.ndarray) -> WebSet:
        fields = {k: v[mask] for k, v in vars(self).items() if k != "pixels"}
        return WebSet(pixels=self.pixels, **fields)


def load(folder: Path | str = OUT, splits: tuple[str, ...] | None = None) -> WebSet:
    """The stored web pictures (of `splits`, or all); any problem is one line."""
    folder = Path(folder)
    pixels_path, index_path = folder / PIXELS, folder / INDEX
    for path in (pixels_path, index_path):
        if not path.is_file():
            raise DatasetError(f"{path} not found; run the prepare_web stage first (dvc repro)")
    try:
        pixels = np.load(pixels_path, mmap_mode="r", allow_pickle=False)
        with np.load(index_path, allow_pickle=False) as index:
            columns = {name: index[name] for name in index.files}
    except (OSError, ValueError) as e:
        raise DatasetError(f"{folder}: unreadable web store ({e})") from None
    missing = {f for f in WebSet.__dataclass_fields__ if f != "pixels"} - set(columns)
    if missing:
        raise DatasetError(f"{index_path} lacks {sorted(missing)}; re-run prepare_web")
    data = WebSet(pixels=pixels, **columns)
    end = data.offset + data.height.astype(np.int64) * data.width * 3
    if len(data) and int(end.max()) > len(pixels):
        raise DatasetError(f"{index_path} points past the end of {pixels_path}; re-run prepare_web")
    if splits is not None:
        data = data.subset(np.isin(data.split, splits))
    return data


def jpeg_quality(data: bytes) -> int:
    """An estimate of a JPEG's quality from its luminance table (0 when not a JPEG)."""
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            tables = getattr(image, "quantization", None) or {}
    except Exception:  # noqa: BLE001 - a feature for the baseline, never fatal
        return 0
    if 0 not in tables:
        return 0
    # libjpeg scales the standard table (first entry 16) by quality; invert that.
    scale = float(np.mean(tables[0][:8])) / np.mean([16, 11, 12, 14, 12, 10, 16, 14]) * 100
    quality = (200 - scale) / 2 if scale <= 100 else 5000 / scale
    return int(np.clip(round(quality), 1, 100))


def prepare(
    rows: list[dict],
    longer_side: int,
    min_side: int,
    val_groups: list[str],
    out: Path | str = OUT,
) -> dict:
    """Decode and rescale each scraped picture of merge's manifest (rows with path,
    label, split, keyword, group, id, format, width, height) into the web store."""
    from dataset.imaging import sniff_format

    if not rows:
        raise DatasetError("no scraped pictures to prepare: run the scrape stages first")
    unknown = sorted(set(val_groups) - {r["group"] for r in rows})
    if unknown:
        raise DatasetError(f"web.val_groups names {unknown[0]!r}, which no keyword's group is")
    chunks, columns, failed = [], {k: [] for k in _COLUMNS}, {}
    offset = 0
    for row in bar(rows, desc="prepare_web: rescale"):
        data = Path(row["path"]).read_bytes()
        try:
            picture = load_scaled(data, longer_side, min_side)
        except ImageError as e:
            failed[row["id"]] = str(e)
            continue
        split = row["split"]
        if split == "train" and row["group"] in val_groups:
            split = "val"
        fmt = sniff_format(data) or "OTHER"
        values = dict(
            offset=offset, height=picture.shape[0], width=picture.shape[1], y=row["label"],
            split=split, group=row["group"], keyword=row["keyword"], id=row["id"],
            file_format=fmt if fmt in FORMATS else "OTHER", file_bytes=len(data),
            file_width=row["width"], file_height=row["height"], jpeg_quality=jpeg_quality(data),
        )  # fmt: skip
        for key, value in values.items():
            columns[key].append(value)
        chunks.append(picture.reshape(-1))
        offset += picture.size
    summary = _summary(columns, failed)
    with atomic_dir(out) as temp:
        np.save(temp / PIXELS, np.concatenate(chunks), allow_pickle=False)
        arrays = {key: np.asarray(columns[key], dtype=kind) for key, kind in _COLUMNS.items()}
        np.savez(temp / INDEX, **arrays)
        write_json(temp / SUMMARY, summary)
    return summary


_COLUMNS = {
    "offset": np.int64, "height": np.int32, "width": np.int32, "y": np.uint8, "split": str,
    "group": str, "keyword": str, "id": str, "file_format": str, "file_bytes": np.int64,
    "file_width": np.int32, "file_height": np.int32, "jpeg_quality": np.int32,
}  # fmt: skip


def _summary(columns: dict, failed: dict) -> dict:
    counts: dict = {}
    for split, group, y in zip(columns["split"], columns["group"], columns["y"], strict=True):
        per = counts.setdefault(split, {}).setdefault(group, {"ai": 0, "real": 0})
        per["real" if y == 1 else "ai"] += 1
    return {"counts": counts, "pictures": len(columns["y"]), "failed": failed}
