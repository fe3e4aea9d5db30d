"""Fine-tuning the web view's last early stage, measured like the logo stage's recipes:
leave-one-group-out on the training-split web pictures, never the test split.

    python -m devtools.finetune_search [--seeds 1 2 3] [--epochs 3] [--lr 1e-4]

The backbone up to stage 3 stays frozen (its output maps are computed once and cached
under data/feature_search/); stage 4's blocks and the linear head are trained per fold,
starting from the ImageNet weights and from the logistic head (C = 0.001) on the frozen
features (so epoch 0 is that frozen recipe). BatchNorm statistics stay frozen. Every
fold trains for the same number of epochs, fixed before looking at a held-out group;
the figure is the last epoch's LOGO mean, with the spread over seeds (batch order).
Not a pipeline recipe: it needs the pictures, which the logo stage does not read.
Needs `make pipeline-offline` run once, like devtools.feature_search.
"""

from __future__ import annotations

import argparse

import numpy as np

from devtools.feature_search import CACHE, per_group, picture_batches

NAME, SIZE, TUNED_STAGE = "lite1", 240, 4


def frozen_inputs(full, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(maps entering stage 4, pooled features of every block of stages 1-3) of the
    pictures `ids` through the backbone `full`, cached."""
    path = CACHE / f"finetune_{NAME}_{SIZE}.npz"
    if path.is_file():
        with np.load(path) as cached:
            if np.array_equal(cached["id"], ids):
                return cached["maps"], cached["pooled"]
    import keras
    import tensorflow as tf

    end = full.get_layer(tuned_stage_input(full)).output
    width = sum(s.out * s.repeats for s in _spec().stages[: TUNED_STAGE - 1])
    front = keras.Model(full.input, [end, full.get_layer("early").output[:, :width]])
    call = tf.function(lambda x: front(tf.cast(x, tf.float32), training=False))
    maps, pooled = [], []
    for batch in picture_batches(ids, SIZE):
        m, p = call(batch)
        maps.append(m.numpy().astype(np.float16))
        pooled.append(p.numpy())
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, maps=np.concatenate(maps), pooled=np.concatenate(pooled), id=ids)
    return np.concatenate(maps), np.concatenate(pooled)


def tuned_model(full, mean: np.ndarray, var: np.ndarray, coef: np.ndarray, bias: float):
    """Stage 4 (ImageNet weights, BatchNorm frozen) on the cached maps, its blocks pooled
    beside the frozen stage 1-3 features, standardised, then the linear head."""
    import keras

    from model import backbone

    maps = keras.Input(full.get_layer(tuned_stage_input(full)).output.shape[1:], name="maps")
    frozen = keras.Input((len(mean) - tuned_width(),), name="pooled")
    x, pools = maps, [frozen]
    for prefix, stage, stride in backbone._block_names(_spec().stages):
        if _stage(stage) == TUNED_STAGE:
            x = backbone._mbconv(x, prefix, stage, stride)
            pools.append(keras.layers.GlobalAveragePooling2D()(x))
    features = keras.layers.Concatenate()(pools)
    scaled = keras.layers.Normalization(mean=mean, variance=var)(features)
    logit = keras.layers.Dense(1, name="logit")(scaled)
    model = keras.Model([maps, frozen], logit)
    for layer in model.layers:
        if layer.weights and layer.name != "logit" and not layer.name.startswith("normal"):
            layer.set_weights(full.get_layer(layer.name).get_weights())
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False  # inference-mode statistics while fine-tuning
    model.get_layer("logit").set_weights([coef.reshape(-1, 1), np.array([bias])])
    return model


def fold_logits(full, data, maps, pooled, early, held, seed, epochs, lr) -> list[np.ndarray]:
    """The held-out group's logits after 0..epochs epochs of fine-tuning on the others."""
    import keras

    from model.data import balanced_weights
    from model.logo import logistic

    train = ~held
    head = logistic(0.001).fit(early[train], data.y[train])
    scaler, regression = head[0], head[-1]
    keras.utils.set_random_seed(seed)
    model = tuned_model(
        full, scaler.mean_, scaler.var_, regression.coef_[0], regression.intercept_[0]
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(lr),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
    )
    inputs = lambda rows: [maps[rows].astype(np.float32), pooled[rows]]  # noqa: E731
    out = [_logits(model, maps, pooled, held)]
    weights = balanced_weights(data.y[train])
    for _ in range(epochs):
        model.fit(
            inputs(train), data.y[train].astype(np.float32), batch_size=32, epochs=1,
            class_weight=weights, verbose=0,
        )  # fmt: skip
        out.append(_logits(model, maps, pooled, held))
    return out


def _logits(model, maps, pooled, rows, batch=64) -> np.ndarray:
    """The model's logits of the pictures `rows`, a batch at a time: stage 4's expanded
    maps of a whole group at once would take gigabytes."""
    index = np.flatnonzero(rows)
    parts = [
        np.asarray(model([maps[i].astype(np.float32), pooled[i]], training=False)).reshape(-1)
        for i in np.array_split(index, max(1, len(index) // batch))
    ]
    return np.concatenate(parts)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-4)
    args = parser.parse_args(argv)
    from dataset import web
    from model import backbone

    data = web.load(splits=("train",))
    full = backbone.build(NAME, image_size=SIZE)
    maps, pooled = frozen_inputs(full, data.id)
    early = data.x(["early"])
    means = []
    for seed in args.seeds:
        scores = np.zeros((args.epochs + 1, len(data)))
        for group in data.groups:
            held = data.group == group
            for epoch, logits in enumerate(
                fold_logits(full, data, maps, pooled, early, held, seed, args.epochs, args.lr)
            ):
                scores[epoch, held] = logits
        curve = [np.mean(list(per_group(data.y, data.group, s).values())) for s in scores]
        folds = per_group(data.y, data.group, scores[-1])
        print(f"seed {seed}: LOGO mean by epoch " + " ".join(f"{m:.3f}" for m in curve)
              + " | " + " ".join(f"{g} {v:.3f}" for g, v in folds.items()), flush=True)  # fmt: skip
        means.append(curve[-1])
    print(f"fine-tuned stage {TUNED_STAGE}, {args.epochs} epochs, lr {args.lr}: LOGO mean "
          f"{np.mean(means):.3f} ± {np.std(means, ddof=1) if len(means) > 1 else 0:.3f} "
          f"({len(means)} seeds)")  # fmt: skip


def _spec():
    from model import backbone

    return backbone.BACKBONES[NAME]


def _stage(stage) -> int:
    return _spec().stages.index(stage) + 1


def tuned_width() -> int:
    tuned = _spec().stages[TUNED_STAGE - 1]
    return tuned.out * tuned.repeats


def tuned_stage_input(model) -> str:
    """The layer whose output enters the tuned stage: the previous stage's last block's."""
    from model import backbone

    blocks = backbone._block_names(_spec().stages)
    last = [p for p, s, _ in blocks if _stage(s) == TUNED_STAGE - 1][-1]
    names = {layer.name for layer in model.layers}
    return f"{last}_add" if f"{last}_add" in names else f"{last}_project_bn"


if __name__ == "__main__":
    main()
