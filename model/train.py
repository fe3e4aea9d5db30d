"""Fit a model on the prepared splits: tf.data, seeds, early stopping, dvclive metrics."""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import keras
import tensorflow as tf

from dataset.modified import MODIFIED, load_modified
from dataset.prepared import PREPARED, Split, load_meta, load_split
from model.build import build_model, check_size, loss_for
from model.data import (
    balanced_weights,
    class_weight,
    eval_dataset,
    training_dataset,
    with_modified,
)
from model.errors import ModelError

MODEL_DIR = Path("data/model")
LIVE_DIR = Path("reports/train")


def strategy_for(name: str) -> tf.distribute.Strategy:
    """train.strategy -> a tf.distribute strategy (the model is built in its scope)."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()  # all local GPUs, or the CPU without any
    if name == "multi_worker":
        # Reads the cluster and this worker's task from the TF_CONFIG environment variable.
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy_name: str) -> bool:
    """Whether this process writes the model and the metrics.

    Every process does, except in a multi-worker cluster (TF_CONFIG), where only the
    chief does: the task of type "chief" if the cluster names one, else worker 0.
    """
    if strategy_name != "multi_worker":
        return True
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    if resolver.task_type in (None, "chief"):
        return True
    has_chief = "chief" in resolver.cluster_spec().jobs
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


@contextlib.contextmanager
def keras_multi_worker_fit(model: keras.Model, strategy: tf.distribute.Strategy):
    """Where model.fit runs: as is, or around two Keras 3 bugs under multi_worker.

    Keras 3.15's fit fails under MultiWorkerMirroredStrategy before its first step
    (keras-team/keras#20585, tensorflow/tensorflow#72388):
    1. its symbolic build averages a whole (pixels, label, weight) batch across the
       workers, which the strategy refuses. The model forgets the strategy it was built
       under and fit runs inside the strategy's scope, where Keras finds it again and
       builds what is left (metrics, optimizer) when it traces the step, as it does for
       a model made outside a scope.
    2. it averages each step's scalar metrics across workers with axis=0, which a
       scalar lacks: they are averaged across the replicas alone (axis=None).
    tests/pipeline/test_train_multi_worker.py fails if a Keras upgrade breaks this.
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        yield
        return
    from keras.src.backend.tensorflow import trainer

    reduce_per_replica = trainer.reduce_per_replica

    def averaged_across_replicas(values, strategy, reduction):
        if reduction not in ("auto", "mean"):
            return reduce_per_replica(values, strategy, reduction)

        def average(value):
            scalar = strategy.experimental_local_results(value)[0].shape.rank == 0
            return strategy.reduce("MEAN", value, axis=None if scalar else 0)

        return keras.tree.map_structure(average, values)

    remembered = model._distribute_strategy
    model._distribute_strategy, trainer.reduce_per_replica = None, averaged_across_replicas
    try:
        with strategy.scope():
            yield
    finally:
        model._distribute_strategy, trainer.reduce_per_replica = remembered, reduce_per_replica


def optimizer_for(params, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """AdamW; with schedule cosine, one epoch of linear warm-up then cosine decay to 0."""
    rate = params.learning_rate
    if params.schedule == "cosine":
        warmup = steps_per_epoch if params.epochs > 1 else 0
        rate = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0 if warmup else params.learning_rate,
            decay_steps=max(1, params.epochs * steps_per_epoch - warmup),
            warmup_target=params.learning_rate if warmup else None,
            warmup_steps=warmup,
        )
    return keras.optimizers.AdamW(learning_rate=rate, weight_decay=params.weight_decay)


def early_stopping_start(params) -> int:
    """The first epoch early stopping may stop at: the decay half of a cosine schedule.

    Near the peak learning rate the validation loss jumps by 2x from epoch to epoch
    (measured: a 24-epoch run stopped at epoch 10, best at epoch 5, with 94.5% test
    accuracy, where the 12-epoch run, decaying sooner, reached 96.7%), so stopping
    there compares noise. A constant schedule may stop from the start.
    """
    return params.epochs // 2 if params.schedule == "cosine" else 0


class LiveMetrics(keras.callbacks.Callback):
    """Per-epoch metrics to dvclive (one step per epoch) and the training speed."""

    def __init__(self, live, images_per_epoch: int):
        super().__init__()
        self.live, self.images = live, images_per_epoch
        self.seconds = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self.started
        self.seconds += elapsed
        for name, value in (logs or {}).items():
            self.live.log_metric(_metric_name(name), float(value))
        self.live.log_metric("images_per_second", self.images / elapsed)
        self.live.next_step()


def _metric_name(keras_name: str) -> str:
    # dvclive plots one file per metric; keep train and val curves apart by folder.
    if keras_name.startswith("val_"):
        return f"val/{keras_name[4:]}"
    if keras_name == "learning_rate":
        return keras_name
    return f"train/{keras_name}"


def train(
    params,
    prepared: Path | str = PREPARED,
    out_dir: Path | str = MODEL_DIR,
    live=None,
    modified: Path | str = MODIFIED,
):
    """Train, save out_dir/model.keras, history.json and training.json; return the summary.

    train.classes 3 adds each split's modified pictures (data/modified) as a third class.
    """
    keras.utils.set_random_seed(params.seed)
    train_split, val_split = load_split("train", prepared), load_split("val", prepared)
    meta = load_meta(prepared)
    size = _image_size(train_split, val_split, meta)
    if params.classes == 3:
        train_split = with_modified(train_split, load_modified("train", modified))
        val_split = with_modified(val_split, load_modified("val", modified))
        weights = balanced_weights(train_split.y)  # three classes of unequal size
    else:
        weights = class_weight(meta)

    strategy = strategy_for(params.strategy)
    steps = max(1, len(train_split) // params.batch_size)
    with strategy.scope():
        model = build_model(params, size)
        check_size(model)
        model.compile(
            optimizer=optimizer_for(params, steps),
            loss=loss_for(params.classes),
            metrics=_metrics(params.classes),
        )
    fit_data = training_dataset(
        train_split, params.batch_size, augment=params.augment, ela=params.ela, seed=params.seed
    )
    val_data = eval_dataset(val_split, max(params.batch_size, 512), ela=params.ela)

    timing = LiveMetrics(live, steps * params.batch_size) if live else None
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss",
            patience=params.patience,
            restore_best_weights=True,
            start_from_epoch=early_stopping_start(params),
        ),
        *([timing] if timing else []),
    ]
    started = time.perf_counter()
    with keras_multi_worker_fit(model, strategy):
        history = model.fit(
            fit_data,
            validation_data=val_data,
            epochs=params.epochs,
            class_weight=weights,
            shuffle=False,  # the dataset shuffles itself each epoch
            callbacks=callbacks,
            verbose=2,
        )
    seconds = time.perf_counter() - started
    epochs_run = len(history.history.get("loss", []))
    fit_seconds = timing.seconds if timing else seconds
    summary = {
        "epochs_run": epochs_run,
        "best_epoch": _best_epoch(history.history),
        "seconds": round(seconds, 1),
        "images_per_second": round(epochs_run * steps * params.batch_size / fit_seconds, 1),
        "train_images": len(train_split),
        "val_images": len(val_split),
        "image_size": size,
        "parameters": model.count_params(),
        "class_weight": weights,
        "strategy": params.strategy,
        "params": asdict(params),
    }
    if is_chief(params.strategy):
        _save(model, history.history, summary, Path(out_dir))
    else:
        _save_and_discard(model, history.history, summary)
    return summary


def _metrics(classes: int) -> list:
    if classes == 2:
        return [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")]
    return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]


def _image_size(train_split: Split, val_split: Split, meta: dict) -> int:
    size = train_split.x.shape[1]
    if val_split.x.shape[1] != size:
        raise ModelError(f"train pictures are {size}px but val pictures {val_split.x.shape[1]}px")
    if meta.get("image_size") not in (None, size):
        raise ModelError(f"meta.json says image_size {meta['image_size']}, the arrays are {size}")
    return size


def _best_epoch(history: dict) -> int | None:
    losses = history.get("val_loss") or []
    finite = [(v, i) for i, v in enumerate(losses) if math.isfinite(v)]
    return min(finite)[1] + 1 if finite else None


def _save_and_discard(model: keras.Model, history: dict, summary: dict) -> None:
    # A worker other than the chief saves too, into a folder of its own that it then
    # deletes (TensorFlow's multi-worker guide): reading a variable during the save may
    # be a collective op, which every worker must join, and the chief alone writes
    # out_dir, which the workers may share.
    scratch = Path(tempfile.mkdtemp(prefix="realorai-worker-"))
    try:
        _save(model, history, summary, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _save(model: keras.Model, history: dict, summary: dict, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / "model.keras")
    rows = {k: [float(v) for v in values] for k, values in history.items()}
    (out_dir / "history.json").write_text(json.dumps(rows, indent=1) + "\n")
    (out_dir / "training.json").write_text(json.dumps(summary, indent=1) + "\n")
