"""How the web view's backbone, input size and blocks were chosen: leave-one-group-out
on the training-split web pictures (never the test split), like the logo stage.

    python -m devtools.feature_search lite0@224 lite1@240 lite0@320 [--stages 3 4 5]
    python -m devtools.feature_search lite1@240 lite1@240:rank --stages 4

For each backbone@size it pools every block of the backbone over the scraped pictures
(merge's kept rows, each file decoded and resized by imaging.load_image, as in
web_features), caches that under data/feature_search/, and prints the LOGO mean and
per-group ROC-AUC of a logistic head (model.logo's leave-one-group-out loop) on the blocks
of stages 1..k for each k and C (a variant ending in ":rank": the rank head, model/ranking.py,
for each alpha); then the paired bootstrap (over pictures, within groups) of each
variant's LOGO mean minus the first one's at stages 1-4, each at its best C (alpha). Needs
`make pipeline-offline` run once (data/web, the merge manifest and the scraped files).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

CACHE = Path("data/feature_search")
CS = (0.0003, 0.001, 0.003)
ALPHAS = (0.03, 0.1, 0.3, 1.0)  # the rank head's grid (params logo.alpha)


def block_features(name: str, size: int, ids: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """(N, channels of every block) pooled features of the pictures `ids`, and the
    stage of each channel, cached per backbone and size."""
    path = CACHE / f"{name}_{size}.npz"
    if path.is_file():
        with np.load(path) as cached:
            if np.array_equal(cached["id"], ids):
                return cached["x"], cached["stage"].tolist()
    import tensorflow as tf

    from model import backbone

    spec = backbone.BACKBONES[name]
    every = tuple(range(1, len(spec.stages) + 1))
    model = backbone.build(name, image_size=size, early_stages=every)
    call = tf.function(lambda x: model(tf.cast(x, tf.float32), training=False)["early"])
    parts = [call(batch).numpy() for batch in picture_batches(ids, size)]
    stage = [
        k for k, s in enumerate(spec.stages, 1) for _ in range(s.repeats) for _ in range(s.out)
    ]
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=np.concatenate(parts), stage=np.array(stage), id=ids)
    return np.concatenate(parts), stage


def picture_batches(ids: np.ndarray, size: int, batch: int = 32):
    """The scraped pictures `ids` (merge's kept rows), each file decoded and resized by
    imaging.load_image as in web_features: (batch, size, size, 3) uint8 arrays."""
    from dataset import merge
    from dataset.imaging import load_image
    from model.web_features import scraped_rows
    from settings import params

    groups = {key: k.group for key, k in params.load("scrape").keywords.items()}
    frame = merge.load_manifest(columns=merge.WEB_COLUMNS)
    paths = {row["id"]: row["path"] for row in scraped_rows(frame, groups)}
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        yield np.stack([load_image(Path(paths[i]).read_bytes(), size) for i in chunk])


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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="+", help="backbone@size, e.g. lite1@240")
    parser.add_argument("--stages", nargs="+", type=int, default=[3, 4, 5])
    parser.add_argument("--base-stages", type=int, default=4, help="the first variant's")
    args = parser.parse_args(argv)
    from dataset import web

    data = web.load(splits=("train",))
    y, group = data.y, data.group
    best = {}
    for variant in args.variants:
        name, size = variant.split(":")[0].split("@")
        head = variant.split(":")[1] if ":" in variant else "logistic"
        x, stage = block_features(name, int(size), data.id)
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
