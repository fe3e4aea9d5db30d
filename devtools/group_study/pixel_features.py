"""Pixel-statistics baseline: 17 hand-made forensic features, leave-one-group-out.

Where the container baseline (container.py) reads only the file, this one reads only
the pixels, with no learning beyond a logistic regression: colour (saturation,
brightness spread, colourfulness), sharpness (Laplacian variance, edge density),
noise residual (its level in flat regions, its kurtosis, its ratio to the gradients)
and the spectrum's slope, on each picture rescaled to a longer side of L (the patch
view's scale). If it matches the CNN on held-out groups, the CNN has learnt no more
than such statistics. Usage (after cache.py 128):

    python -m devtools.group_study.pixel_features --L 128
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from devtools.group_study.paths import WORK
from devtools.group_study.study import GROUPS, load_scaled

NAMES = (
    "saturation_mean", "saturation_sd", "saturation_p90", "value_mean", "value_sd",
    "value_p2", "value_p98", "colourfulness", "log_laplacian_var", "log_flat_residual_sd",
    "log_residual_sd", "log_residual_to_gradient", "log_residual_kurtosis",
    "spectrum_slope", "spectrum_high_minus_low", "edge_density", "colour_entropy",
)  # fmt: skip


def radial_power(grey: np.ndarray) -> np.ndarray:
    """Mean power spectrum over rings of equal frequency, from the centre outwards."""
    power = np.abs(np.fft.fftshift(np.fft.fft2(grey - grey.mean()))) ** 2
    h, w = grey.shape
    y, x = np.indices(grey.shape)
    ring = np.hypot(y - h / 2, x - w / 2).astype(int).ravel()
    return np.bincount(ring, power.ravel()) / np.maximum(np.bincount(ring), 1)


def features(rgb: np.ndarray) -> list[float]:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV).astype(np.float32)
    sat, val = hsv[..., 1] / 255, hsv[..., 2] / 255
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    colourful = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    residual = grey - cv2.GaussianBlur(grey, (0, 0), 1.0)
    gradient = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    flat = gradient <= np.percentile(gradient, 30)
    centred = residual - residual.mean()
    kurtosis = (centred**4).mean() / (residual.var() ** 2 + 1e-9)
    square = cv2.resize(grey, (128, 128), interpolation=cv2.INTER_AREA)
    rings = np.log(radial_power(square)[1:64] + 1e-6)
    slope = np.polyfit(np.log(np.arange(1, 64)), rings, 1)[0]
    hist = cv2.calcHist([rgb], [0, 1, 2], None, [8, 8, 8], [0, 256] * 3).ravel()
    hist = hist[hist > 0] / hist.sum()
    return [
        sat.mean(), sat.std(), np.percentile(sat, 90), val.mean(), val.std(),
        np.percentile(val, 2), np.percentile(val, 98), colourful,
        np.log1p(cv2.Laplacian(grey, cv2.CV_32F).var()), np.log1p(residual[flat].std()),
        np.log1p(residual.std()), np.log(residual.std() + 1e-3) - np.log(gradient.mean() + 1e-3),
        np.log(kurtosis + 1e-3), slope, rings[40:].mean() - rings[5:20].mean(),
        cv2.Canny(rgb, 100, 200).mean() / 255, -(hist * np.log(hist)).sum(),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--L", type=int, default=128)
    args = parser.parse_args()
    meta = np.load(WORK / "cache_meta.npz")
    label, group = meta["label"], meta["group"]
    x = np.nan_to_num(np.array([features(p) for p in load_scaled(args.L)], np.float64))
    aucs = []
    for fold, name in enumerate(GROUPS):
        train, test = group != fold, group == fold
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000))
        model.fit(x[train], label[train])
        aucs.append(roc_auc_score(label[test], model.decision_function(x[test])))
        print(f"{name} held out: ROC-AUC {aucs[-1]:.3f}")
    print(f"mean {np.mean(aucs):.3f}")
    for j, feature in enumerate(NAMES):  # alone, per group: which direction holds where
        per = [roc_auc_score(label[group == f], x[group == f, j]) for f in range(len(GROUPS))]
        print(f"  {feature:26s} " + " ".join(f"{a:.2f}" for a in per))


if __name__ == "__main__":
    main()
