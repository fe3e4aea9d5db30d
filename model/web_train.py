"""Train the patch view on web pictures: one model per seed, chosen by the ROC-AUC of
the held-out groups, then published as one model whose `logit` is their mean."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import tensorflow as tf
from sklearn.metrics import roc_auc_score

from dataset.web import WebSet
from model.build import build_model, check_size
from model.errors import ModelError
from model.train import optimizer_for
from model.web_data import grid_batch, picture_logits, training_batches

MODEL_DIR = Path("data/model_web")
LIVE_DIR = Path("reports/train_web")
SEEDS_FILE = "seeds.keras"
EVAL_BATCH = 1024


def patch_logits(model: keras.Model, patches: np.ndarray) -> np.ndarray:
    """The `logit` layer's output for a stack of patches, by direct batched calls."""
    return batched_logits(keras.Model(model.inputs, model.get_layer("logit").output), patches)


def batched_logits(logit_model: keras.Model, patches: np.ndarray) -> np.ndarray:
    """A logit model's output for a stack of patches, by direct calls: no model.predict
    (its per-call set-up) and no tf.function made per call (it retraced every epoch)."""
    out = [logit_model(tf.constant(patches[i : i + EVAL_BATCH]), training=False).numpy()
           for i in range(0, len(patches), EVAL_BATCH)]  # fmt: skip
    return np.concatenate(out).reshape(-1).astype(np.float64)


class HeldOutAUC(keras.callbacks.Callback):
    """Each epoch: ROC-AUC of the held-out groups' pictures (grid-scored); keeps the best
    weights and stops after `patience` epochs without a better one in the decay half."""

    def __init__(self, patches, y, grid, patience, start, live=None, prefix=""):
        super().__init__()
        self.patches, self.y, self.grid = patches, y, grid
        self.patience, self.start, self.live, self.prefix = patience, start, live, prefix
        self.best, self.best_epoch, self.best_weights, self.history = -1.0, 0, None, []

    def on_epoch_end(self, epoch, logs=None):
        logits = picture_logits(patch_logits(self.model, self.patches), self.grid)
        auc = float(roc_auc_score(self.y, logits))
        self.history.append({"epoch": epoch + 1, "loss": float((logs or {}).get("loss", 0)),
                             "val_auc": auc})  # fmt: skip
        if self.live:
            self.live.log_metric(f"{self.prefix}train/loss", float((logs or {}).get("loss", 0)))
            self.live.log_metric(f"{self.prefix}val/auc", auc)
            self.live.next_step()
        if auc > self.best:
            self.best, self.best_epoch = auc, epoch + 1
            self.best_weights = self.model.get_weights()
        elif epoch >= self.start and epoch + 1 - self.best_epoch >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def train_one(train: WebSet, val_patches, val_y, params, architecture, seed, live=None, extra=None):
    """One seed's model and its history."""
    keras.utils.set_random_seed(seed)
    model = build_model(architecture, params.image_size)
    check_size(model)
    steps = len(train) * params.crops_per_picture // params.batch_size
    schedule = SimpleNamespace(learning_rate=params.learning_rate, schedule="cosine",
                               epochs=params.epochs, weight_decay=params.weight_decay)  # fmt: skip
    model.compile(optimizer=optimizer_for(schedule, steps), loss=keras.losses.BinaryCrossentropy())
    held_out = HeldOutAUC(val_patches, val_y, params.grid, params.patience, params.epochs // 2,
                          live, prefix=f"seed{seed}/")  # fmt: skip
    model.fit(training_batches(train, params, seed, extra), epochs=params.epochs,
              steps_per_epoch=steps, callbacks=[held_out], shuffle=False, verbose=2)  # fmt: skip
    return model, held_out


def ensemble(models: list[keras.Model], image_size: int) -> keras.Model:
    """One model: uint8 patches in, the seeds' mean logit as layer `logit`, p_real out."""
    inputs = keras.Input((image_size, image_size, 3), dtype="float32", name="pixels")
    logits = []
    for i, member in enumerate(models):
        inner = keras.Model(member.inputs, member.get_layer("logit").output, name=f"seed_{i}")
        logits.append(inner(inputs))
    if len(logits) > 1:
        logit = keras.layers.Average(name="logit")(logits)
    else:
        logit = keras.layers.Identity(name="logit")(logits[0])
    p_real = keras.layers.Activation("sigmoid", dtype="float32", name="p_real")(logit)
    return keras.Model(inputs, p_real, name="patch_ensemble")


def single(seeds: keras.Model, index: int, image_size: int) -> keras.Model:
    """Member `seed_<index>` of a seeds model on its own, with the published contract."""
    return ensemble([seeds.get_layer(f"seed_{index}")], image_size)


def choose_members(seeds: keras.Model, val_aucs: list[float], rule: str, image_size: int):
    """(the model publish ships, what it is): every seed's mean, or the seed with the best
    held-out validation ROC-AUC (web.publish_members); never chosen on test pictures."""
    if rule == "ensemble" or len(val_aucs) == 1:
        return seeds, f"the mean logit of {len(val_aucs)} seeds"
    best = int(np.argmax(val_aucs))
    return single(seeds, best, image_size), f"seed index {best} (best held-out validation ROC-AUC)"


def train_web(train: WebSet, val: WebSet, params, architecture, live=None, extra=None,
              out_dir: Path | str = MODEL_DIR) -> dict:  # fmt: skip
    """Train every seed of web.seeds; save what publish ships (model.keras), all seeds
    (seeds.keras) and a summary; return the summary."""
    if not len(val) or len(np.unique(val.y)) < 2:
        raise ModelError("no held-out web pictures of both labels: set web.val_groups to a "
                         "group that has ai and real keywords")  # fmt: skip
    if len(train) * params.crops_per_picture < params.batch_size:
        raise ModelError(f"{len(train)} web training pictures: too few for one batch")
    val_patches = grid_batch(val, params.image_size, params.grid)
    started, models, runs = time.perf_counter(), [], []
    for seed in params.seeds:
        model, held_out = train_one(train, val_patches, val.y, params, architecture, seed,
                                    live, extra)  # fmt: skip
        models.append(model)
        runs.append({"seed": seed, "best_epoch": held_out.best_epoch,
                     "val_auc": held_out.best, "history": held_out.history})  # fmt: skip
    seeds = ensemble(models, params.image_size)
    logits = picture_logits(patch_logits(seeds, val_patches), params.grid)
    val_aucs = [r["val_auc"] for r in runs]
    final, chosen = choose_members(seeds, val_aucs, params.publish_members, params.image_size)
    summary = {
        "seconds": round(time.perf_counter() - started, 1),
        "train_pictures": len(train),
        "val_pictures": len(val),
        "val_groups": sorted(set(val.group.tolist())),
        "seeds": runs,
        "val_auc_per_seed": val_aucs,
        "val_auc_ensemble": float(roc_auc_score(val.y, logits)),
        "published": chosen,
        "parameters": int(final.count_params()),
        "params": asdict(params),
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final.save(out_dir / "model.keras")
    seeds.save(out_dir / SEEDS_FILE)  # every seed, for the spread evaluate_web reports
    (out_dir / "training.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
