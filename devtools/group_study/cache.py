"""Decode every web picture once (project's imaging.py copy) and cache the views.

cache_meta.npz : names, label (1 = real, like the project's p_real), group (0 aigameapp,
                 1 realoraigame, 2 search), container features for the baseline.
cache_whole.npz: x (N,36,36,3) uint8 = imaging.load_image(bytes, 36), exactly as the project.
cache_L{L}.npz : pictures rescaled so the longer side is L (shorter side kept >= 36),
                 full decode (imaging.decode_image, no draft) then cv2.resize with the
                 project's rule (INTER_AREA shrinking, INTER_CUBIC enlarging);
                 variable sizes stored flat: data (uint8), shapes (N,3), offsets (N,).
Usage: python cache.py 96 128 192
"""

import io
import sys

import cv2
import numpy as np
from PIL import Image

from dataset import imaging
from devtools.group_study.paths import WEBSCRAPE, WORK

ROOT = WEBSCRAPE
OUT = WORK
GROUPS = ("aigameapp", "realoraigame", "search")
CROP = 36


def group_of(name: str) -> int:
    if name.startswith("aigameapp-"):
        return 0
    if name.startswith("realoraigame-"):
        return 1
    return 2


def jpeg_quality(im) -> float:
    """libjpeg quality estimate from the luminance quantisation table (-1 if not JPEG)."""
    q = getattr(im, "quantization", None)
    if not q:
        return -1.0
    std = np.array(
        [
            16,
            11,
            10,
            16,
            24,
            40,
            51,
            61,
            12,
            12,
            14,
            19,
            26,
            58,
            60,
            55,
            14,
            13,
            16,
            24,
            40,
            57,
            69,
            56,
            14,
            17,
            22,
            29,
            51,
            87,
            80,
            62,
            18,
            22,
            37,
            56,
            68,
            109,
            103,
            77,
            24,
            35,
            55,
            64,
            81,
            104,
            113,
            92,
            49,
            64,
            78,
            87,
            103,
            121,
            120,
            101,
            72,
            92,
            95,
            98,
            112,
            100,
            103,
            99,
        ],
        float,
    )
    table = np.array(list(q[0]), float)  # zigzag vs natural order: irrelevant for the sum
    scale = 100.0 * table.sum() / std.sum()
    quality = (200.0 - scale) / 2.0 if scale <= 100 else 5000.0 / scale
    return float(np.clip(quality, 1, 100))


def scale_longer(rgb: np.ndarray, L: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = max(L / max(h, w), CROP / min(h, w))
    nh, nw = max(CROP, round(h * s)), max(CROP, round(w * s))
    if (nh, nw) == (h, w):
        return np.ascontiguousarray(rgb)
    shrinking = nh <= h and nw <= w
    return cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def main(sizes):
    files = sorted(p for lab in ("ai", "real") for p in (ROOT / lab).iterdir() if p.is_file())
    names, labels, groups, feats, whole = [], [], [], [], []
    scaled = {L: [] for L in sizes}
    for p in files:
        data = p.read_bytes()
        try:
            x36 = imaging.load_image(data, CROP)
            full = imaging.decode_image(data)
        except imaging.ImageError as e:
            print("skip", p.name, e)
            continue
        im = Image.open(io.BytesIO(data))
        fmt = im.format
        w, h = im.size
        feats.append(
            [
                fmt == "JPEG",
                fmt == "PNG",
                fmt == "WEBP",
                w,
                h,
                w / h,
                np.log(len(data)),
                len(data) * 8 / (w * h),
                jpeg_quality(im) if fmt == "JPEG" else -1,
                im.mode in ("RGBA", "LA", "P"),
                bool(im.info.get("progressive", 0)),
                "exif" in im.info,
                "icc_profile" in im.info,
            ]
        )
        names.append(p.name)
        labels.append(1 if p.parent.name == "real" else 0)
        groups.append(group_of(p.name))
        whole.append(x36)
        for L in sizes:
            scaled[L].append(scale_longer(full, L))
    feat_names = [
        "is_jpeg",
        "is_png",
        "is_webp",
        "width",
        "height",
        "aspect",
        "log_bytes",
        "bits_per_pixel",
        "jpeg_quality",
        "has_alpha_mode",
        "progressive",
        "has_exif",
        "has_icc",
    ]
    np.savez(
        OUT / "cache_meta.npz",
        names=np.array(names),
        label=np.array(labels, np.int8),
        group=np.array(groups, np.int8),
        feats=np.array(feats, np.float64),
        feat_names=np.array(feat_names),
    )
    np.savez(OUT / "cache_whole.npz", x=np.stack(whole))
    for L in sizes:
        arrs = scaled[L]
        shapes = np.array([a.shape for a in arrs], np.int32)
        sizes_ = shapes.prod(1)
        offsets = np.concatenate([[0], np.cumsum(sizes_)[:-1]]).astype(np.int64)
        np.savez(
            OUT / f"cache_L{L}.npz",
            data=np.concatenate([a.ravel() for a in arrs]),
            shapes=shapes,
            offsets=offsets,
        )
    lab, grp = np.array(labels), np.array(groups)
    for g, gname in enumerate(GROUPS):
        print(
            gname,
            "ai",
            int(((grp == g) & (lab == 0)).sum()),
            "real",
            int(((grp == g) & (lab == 1)).sum()),
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [128])
