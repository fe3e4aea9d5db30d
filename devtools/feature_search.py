"""How the web view's backbone, input size and blocks were chosen: leave-one-group-out
on the training-split web pictures (never the test split), like the logo stage.

    python -m devtools.feature_search lite0@224 lite1@240 lite0@320 [--stages 3 4 5]
    python -m devtools.feature_search lite1@240:rank lite1@240/crops3:rank --stages 4
    python -m devtools.feature_search lite1@240:rank lite1@240/crops1:rank \
        lite1@240/crops3:rank lite1@240/short:rank --stages 4 --aspect

For each backbone@size[/geometry] it pools every block of the backbone over the scraped
pictures (merge's kept rows, each file decoded by imaging.decode_image), caches that
under data/feature_search/, and prints the LOGO mean and
per-group ROC-AUC of a logistic head (model.logo's leave-one-group-out loop) on the blocks
of stages 1..k for each k and C (a variant ending in ":rank": the rank head, model/ranking.py,
for each alpha); then the paired bootstrap (over pictures, within groups) of each
variant's LOGO mean minus the first one's at stages 1-4, each at its best C (alpha).
`--aspect` adds each group's ROC-AUC on its square pictures alone and on its oblong ones
alone, where the shape of the picture cannot tell the labels apart.

Geometry, what the backbone is shown: squash (default) the picture resized to a square
(imaging.load_image, the web view before crops); cropsK up to K squares along the
longer side, features averaged (dataset.views.square_crops, the web view's params
web.crops); short the picture with its shorter side at `size`, aspect kept, one
call each (not served: its cost grows with the aspect ratio). Needs `make
pipeline-offline` run once (data/web, the merge manifest and the scraped files).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

CACHE = Path("data/feature_search")
CS = (0.0003, 0.001, 0.003)
ALPHAS = (0.03, 0.1, 0.3, 1.0)  # the rank head's grid (params logo.alpha)


def block_features(name: str, size: int, ids: np.ndarray, geometry: str = "squash"):
    """(N, channels of every block) pooled features of the pictures `ids`, and the
    stage of each channel, cached per backbone, size and geometry."""
    suffix = "" if geometry == "squash" else f"_{geometry}"
    path = CACHE / f"{name}_{size}{suffix}.npz"
    if path.is_file():
        with np.load(path) as cached:
            if np.array_equal(cached["id"], ids):
                return cached["x"], cached["stage"].tolist()
    import tensorflow as tf

    from model import backbone

    spec = backbone.BACKBONES[name]
    every = tuple(range(1, len(spec.stages) + 1))
    shape = None if geometry == "short" else size
    model = backbone.build(name, image_size=shape, early_stages=every)
    call = tf.function(
        lambda x: model(tf.cast(x, tf.float32), training=False)["early"], reduce_retracing=True
    )
    if geometry == "squash":
        parts = [call(batch).numpy() for batch in picture_batches(ids, size)]
    else:
        parts = [call(views).numpy().mean(axis=0, keepdims=True)
                 for views in picture_views(ids, size, geometry)]  # fmt: skip
    stage = [
        k for k, s in enumerate(spec.stages, 1) for _ in range(s.repeats) for _ in range(s.out)
    ]
    x = np.concatenate(parts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x, stage=np.array(stage), id=ids)
    return x, stage


def picture_batches(ids: np.ndarray, size: int, batch: int = 32):
    """The scraped pictures `ids` (merge's kept rows), each file decoded and squashed to
    a square by imaging.load_image: (batch, size, size, 3) uint8 arrays."""
    from dataset.imaging import load_image

    paths = picture_paths()
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        yield np.stack([load_image(Path(paths[i]).read_bytes(), size) for i in chunk])


def picture_views(ids: np.ndarray, size: int, geometry: str):
    """Each picture of `ids` as (k, h, w, 3) uint8 inputs: its square crops (cropsK) or
    the picture with its shorter side resized to `size` (short)."""
    import cv2

    from dataset.imaging import decode_image, interpolation_for
    from dataset.views import square_crops

    paths = picture_paths()
    for i in ids:
        rgb = decode_image(Path(paths[i]).read_bytes(), shrink_to=size)
        if geometry.startswith("crops"):
            yield square_crops(rgb, size, int(geometry.removeprefix("crops")))
            continue
        scale = size / min(rgb.shape[:2])
        wide = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
        yield cv2.resize(rgb, wide, interpolation=interpolation_for(shrinking=scale < 1))[None]


def picture_paths() -> dict[str, str]:
    """Merge's kept scraped pictures: id -> file path."""
    from dataset import merge
    from model.web_features import scraped_rows
    from settings import params

    groups = {key: k.group for key, k in params.load("scrape").keywords.items()}
    frame = merge.load_manifest(columns=merge.WEB_COLUMNS)
    return {row["id"]: row["path"] for row in scraped_rows(frame, groups)}


def logo_scores(data, x: np.ndarray, C: float, head: str = "logistic") -> np.ndarray:
    """Out-of-fold logits of the logo stage's logistic recipe (or, head "rank", its
    rank_early recipe at alpha C) on features `x` (rows of the WebSet `data`):
    model.logo's own loop, on these features instead of the store's."""
    from model import logo

    blocks = dataclasses.replace(data, features={"blocks": x})
    recipe, run = ("rank_early", {"alpha": C}) if head == "rank" else ("early", {"C": C})
    return logo.leave_one_group_out(blocks, recipe, run, names=("blocks",))


def per_group(y, group, scores) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    return {g: roc_auc_score(y[group == g], scores[group == g]) for g in sorted(set(group))}


def paired_difference(y, group, base, other, resamples=1000, seed=0) -> tuple[float, float, float]:
    """other's LOGO mean minus base's: mean and 95% interval over resamples of the
    pictures within each group (both scored on the same resample)."""
    rng = np.random.default_rng(seed)
    rows = [np.flatnonzero(group == g) for g in sorted(set(group))]
    diffs = []
    for _ in range(resamples):
        picks = [rng.choice(r, len(r)) for r in rows]
        picks = np.concatenate([p for p in picks if len(set(y[p])) == 2])
        means = [np.mean(list(per_group(y[picks], group[picks], s[picks]).values()))
                 for s in (base, other)]  # fmt: skip
        diffs.append(means[1] - means[0])
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(np.mean(diffs)), float(low), float(high)


def parse_variant(variant: str) -> tuple[str, int, str, str]:
    """ "lite1@240/crops3:rank" -> ("lite1", 240, "crops3", "rank"); geometry squash and
    head logistic when not given."""
    picture, _, head = variant.partition(":")
    backbone_size, _, geometry = picture.partition("/")
    name, size = backbone_size.split("@")
    geometry = geometry or "squash"
    if geometry not in ("squash", "short") and not geometry.removeprefix("crops").isdigit():
        raise SystemExit(f"unknown geometry {geometry!r}: squash, cropsK or short")
    return name, int(size), geometry, head or "logistic"


def by_aspect(data, scores: np.ndarray, least: int = 15) -> str:
    """Each group's ROC-AUC on its square pictures alone and its oblong ones alone (where
    both labels have at least `least` pictures), and their mean: a figure the picture's
    shape cannot help."""
    from sklearn.metrics import roc_auc_score

    width, height = data.file_width, data.file_height
    square = np.abs(np.maximum(width, height) / np.minimum(width, height) - 1) < 0.02
    parts, aucs = [], []
    for g in sorted(set(data.group)):
        for shape, subset in (("square", square), ("oblong", ~square)):
            rows = (data.group == g) & subset
            if min(np.sum(data.y[rows] == 0), np.sum(data.y[rows] == 1)) >= least:
                aucs.append(roc_auc_score(data.y[rows], scores[rows]))
                parts.append(f"{g} {shape} {aucs[-1]:.3f}")
    return " | ".join(parts) + f" | one-shape mean {np.mean(aucs):.3f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="+", help="backbone@size, e.g. lite1@240")
    parser.add_argument("--stages", nargs="+", type=int, default=[3, 4, 5])
    parser.add_argument("--base-stages", type=int, default=4, help="the first variant's")
    parser.add_argument("--aspect", action="store_true", help="square and oblong apart too")
    args = parser.parse_args(argv)
    from dataset import web

    data = web.load(splits=("train",))
    y, group = data.y, data.group
    best = {}
    for variant in args.variants:
        name, size, geometry, head = parse_variant(variant)
        x, stage = block_features(name, size, data.id, geometry)
        for k in args.stages:
            cols = np.asarray(stage) <= k
            values = ALPHAS if head == "rank" else CS
            runs = {C: logo_scores(data, x[:, cols], C, head) for C in values}
            aucs = {C: per_group(y, group, s) for C, s in runs.items()}
            means = {C: float(np.mean(list(a.values()))) for C, a in aucs.items()}
            top = max(means, key=means.get)
            best[f"{variant} stages 1-{k}"] = runs[top]
            folds = " ".join(f"{g} {v:.3f}" for g, v in aucs[top].items())
            setting = "alpha" if head == "rank" else "C"
            grid = " ".join(f"{setting}={C}: {m:.3f}" for C, m in means.items())
            print(f"{variant} stages 1-{k} ({cols.sum()} features): {grid} | {folds}", flush=True)
            if args.aspect:
                print(f"  {by_aspect(data, runs[top])}", flush=True)
    first = f"{args.variants[0]} stages 1-{args.base_stages}"
    base = best.get(first)
    if base is None:
        first, base = next(iter(best.items()))
    for label, scores in best.items():
        if label != first:
            mean, low, high = paired_difference(y, group, base, scores)
            print(f"{label} minus {first}: {mean:+.3f} [{low:+.3f}, {high:+.3f}]")


if __name__ == "__main__":
    main()
