"""The web pictures as the web view sees them, on disk: the one module that the
web_features stage writes with and the logo, train_web and evaluate_web stages read.

data/web/ holds
- index.npz: per picture y (1 = real), split (train | test, merge's stable hash
  split), group and keyword (params scrape.keywords), id, and what the file alone
  tells (format, file bytes, width and height as stored, JPEG quality) for the
  container-only baseline;
- features.npz: the backbone's pooled features of each picture as served
  (`head`, `mid`, `early`; the mean over its square crops, dataset.views.square_crops),
  and of the same picture shrunk to SMALL_SIDE first (`small_head`, ...): what the
  web view makes of a small copy;
- small.npy: (N, S, S, 3) uint8, the CIFAKE view's input of that small copy, so the
  36x36 CNN is measured on the same small pictures;
- summary.json: counts per split and group, and the files that failed to decode.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dataset.atomic import atomic_dir, write_json
from dataset.errors import DatasetError

OUT = Path("data/web")
INDEX = "index.npz"
FEATURES = "features.npz"
SMALL = "small.npy"
SUMMARY = "summary.json"
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "OTHER")
FEATURE_SETS = ("head", "mid", "early", "small_head", "small_mid", "small_early")
SMALL_SIDE = 32  # CIFAKE's size: a web picture shrunk to it is what a "small picture" is

_COLUMNS = {
    "y": np.uint8, "split": str, "group": str, "keyword": str, "id": str,
    "file_format": str, "file_bytes": np.int64, "file_width": np.int32,
    "file_height": np.int32, "jpeg_quality": np.int32,
}  # fmt: skip


@dataclass(frozen=True)
class WebSet:
    """Web pictures: index columns, feature arrays (N, D) and small pictures, row-aligned."""

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
    features: dict
    small: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, mask: np.ndarray) -> WebSet:
        columns = {name: getattr(self, name)[mask] for name in _COLUMNS}
        features = {name: array[mask] for name, array in self.features.items()}
        return WebSet(**columns, features=features, small=self.small[mask])

    def x(self, names: tuple[str, ...] | list[str]) -> np.ndarray:
        """The named feature sets side by side, (N, sum of widths) float32."""
        return np.concatenate([self.features[name] for name in names], axis=1)

    @property
    def groups(self) -> list[str]:
        return sorted(set(self.group.tolist()))


def write(columns: dict, features: dict, small: np.ndarray, failed: dict, out=OUT) -> dict:
    """Write the store atomically (all of it or nothing); returns the summary."""
    arrays = {key: np.asarray(columns[key], dtype=kind) for key, kind in _COLUMNS.items()}
    summary = _summary(arrays, failed)
    with atomic_dir(out) as temp:
        np.savez(temp / INDEX, **arrays)
        np.savez(temp / FEATURES, **{k: np.asarray(v, np.float32) for k, v in features.items()})
        np.save(temp / SMALL, np.asarray(small, np.uint8), allow_pickle=False)
        write_json(temp / SUMMARY, summary)
    return summary


def load(folder: Path | str = OUT, splits: tuple[str, ...] | None = None) -> WebSet:
    """The stored web pictures (of `splits`, or all); any problem is one line."""
    folder = Path(folder)
    paths = [folder / name for name in (INDEX, FEATURES, SMALL)]
    for path in paths:
        if not path.is_file():
            raise DatasetError(f"{path} not found; run the web_features stage first (dvc repro)")
    try:
        with np.load(paths[0], allow_pickle=False) as index:
            columns = {name: index[name] for name in index.files}
        with np.load(paths[1], allow_pickle=False) as stored:
            features = {name: stored[name] for name in stored.files}
        small = np.load(paths[2], allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as e:  # a truncated .npz is a bad zip
        raise DatasetError(f"{folder}: unreadable web store ({e})") from None
    missing = sorted(set(_COLUMNS) - set(columns)) + sorted(set(FEATURE_SETS) - set(features))
    if missing:
        raise DatasetError(f"{folder} lacks {missing[0]!r}; re-run web_features")
    n = len(columns["y"])
    if any(len(a) != n for a in [*columns.values(), *features.values(), small]):
        raise DatasetError(f"{folder}: index, features and small pictures differ in length")
    data = WebSet(**{k: columns[k] for k in _COLUMNS}, features=features, small=small)
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
    if 0 not in tables or len(tables[0]) != 64:
        return 0
    # libjpeg scales the standard luminance table by quality; invert that on the table's
    # mean, which does not depend on the order Pillow lists it in (natural or zigzag).
    scale = float(np.mean(tables[0])) / np.mean(_STANDARD_LUMINANCE) * 100
    quality = (200 - scale) / 2 if scale <= 100 else 5000 / scale
    return int(np.clip(round(quality), 1, 100))


_STANDARD_LUMINANCE = (  # JPEG Annex K.1, the table libjpeg scales by quality
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip


def file_columns(data: bytes, row: dict) -> dict:
    """A picture's index columns: merge's row (label, split, keyword, group, id, width,
    height) and what its bytes tell."""
    from dataset.imaging import sniff_format

    fmt = sniff_format(data) or "OTHER"
    return dict(
        y=row["label"], split=row["split"], group=row["group"], keyword=row["keyword"],
        id=row["id"], file_format=fmt if fmt in FORMATS else "OTHER", file_bytes=len(data),
        file_width=row["width"], file_height=row["height"], jpeg_quality=jpeg_quality(data),
    )  # fmt: skip


def views_of(data: bytes, size: int, whole_size: int, crops: int) -> tuple[np.ndarray, ...]:
    """One decode, three inputs: the web view's square crops (k, size, size, 3), and of
    the picture shrunk to SMALL_SIDE the web view's crops and the CIFAKE view's
    (whole_size). ImageError (one line) for a file that is not a usable picture."""
    from dataset.imaging import decode_image, resize_image
    from dataset.views import shrink, square_crops

    rgb = decode_image(data, shrink_to=size)
    small = shrink(rgb, SMALL_SIDE)
    return (
        square_crops(rgb, size, crops),
        square_crops(small, size, crops),
        resize_image(small, whole_size),
    )


def _summary(arrays: dict, failed: dict) -> dict:
    counts: dict = {}
    for split, group, y in zip(arrays["split"], arrays["group"], arrays["y"], strict=True):
        per = counts.setdefault(str(split), {}).setdefault(str(group), {"ai": 0, "real": 0})
        per["real" if y == 1 else "ai"] += 1
    return {"counts": counts, "pictures": len(arrays["y"]), "failed": failed}
