"""The prepared splits as tf.data pipelines for training and validation.

The on-disk layout and its checks belong to dataset.prepared (writer and reader share it).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from dataset.modified import ModifiedSet
from dataset.prepared import Split
from model.augment import augment_batch
from model.classes import MODIFIED, three_class_labels
from model.ela import add_ela
from model.errors import ModelError


def class_weight(meta: dict) -> dict[int, float] | None:
    """Keras class weights when the preprocess stage balanced by weighting, else None."""
    weights = meta.get("class_weight")
    if meta.get("balance") != "class_weights" or not weights:
        return None
    try:
        return {int(k): float(v) for k, v in weights.items()}
    except (AttributeError, TypeError, ValueError):
        raise ModelError(f"meta.json class_weight must map 0/1 to numbers, got {weights}") from None


def with_modified(split: Split, modified: ModifiedSet) -> Split:
    """The split with three-class labels (model.classes) and the modified set's pictures
    of that split appended as MODIFIED (their ids prefixed "modified:")."""
    return Split(
        split.name,
        np.concatenate([split.x, modified.x]),
        np.concatenate([three_class_labels(split.y), np.full(len(modified), MODIFIED)]),
        np.concatenate([split.source, modified.real_source]),
        np.concatenate([split.id, np.char.add("modified:", modified.real_id.astype(str))]),
    )


def balanced_weights(labels: np.ndarray) -> dict[int, float]:
    """n / (k * n_c) per class, so each class weighs alike in the loss."""
    values, counts = np.unique(labels, return_counts=True)
    return {int(v): len(labels) / (len(values) * c) for v, c in zip(values, counts, strict=True)}


def with_ela(x: np.ndarray, ela: bool) -> np.ndarray:
    """The model's input for uint8 RGB pixels: unchanged, or with ELA channels added."""
    return add_ela(x) if ela else x


def training_dataset(
    split: Split, batch_size: int, *, augment: bool, ela: bool, seed: int
) -> tf.data.Dataset:
    """Shuffled, augmented, batched batches of (pixels, label), prefetched.

    The arrays are already in memory, so from_tensor_slices plays the role of cache().
    Augmentation runs per batch (vectorised) after batching: on 2 cores a per-image
    map would cost more than the augmentation itself.
    """
    data = tf.data.Dataset.from_tensor_slices((split.x, split.y.astype("float32")))
    data = data.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size, drop_remainder=len(split) > batch_size)
    if augment:
        # A seeded stream of per-batch seeds for the stateless augmentation ops.
        seeds = tf.data.Dataset.random(seed=seed).batch(2)
        data = tf.data.Dataset.zip(data, seeds).map(
            lambda batch, s: (augment_batch(batch[0], s), batch[1]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    if ela:
        data = data.map(_ela_map, num_parallel_calls=tf.data.AUTOTUNE)
    return shard_by_element(data.prefetch(tf.data.AUTOTUNE))


def eval_dataset(split: Split, batch_size: int, *, ela: bool) -> tf.data.Dataset:
    """The split in order, batched, for validation during training."""
    x = with_ela(split.x, ela)
    data = tf.data.Dataset.from_tensor_slices((x, split.y.astype("float32")))
    return shard_by_element(data.batch(batch_size).prefetch(tf.data.AUTOTUNE))


def shard_by_element(data: tf.data.Dataset) -> tf.data.Dataset:
    """How a multi-worker run splits the data: by element (auto-shard policy DATA).

    The arrays are in memory, so there are no files to share out (FILE, which AUTO
    tries first, would fail and fall back with a warning). Every worker builds the
    whole pipeline, in the same seeded order, and tf.distribute splits each global
    batch of train.batch_size pictures between the workers, each keeping its slice.
    One process alone ignores the option.
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.with_options(options)


def _ela_map(x, y):
    # One ELA implementation everywhere (model.ela, PIL's JPEG), on the augmented pixels.
    shape = tf.concat([tf.shape(x)[:-1], [6]], axis=0)
    out = tf.numpy_function(add_ela, [x], tf.uint8, stateful=False)
    return tf.reshape(out, shape), y
