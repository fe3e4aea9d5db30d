"""Label-preserving augmentation of uint8 batches, vectorised so 2 CPU cores keep up.

Flips and small shifts teach position invariance; JPEG re-encoding at a random
quality, mild blur and brightness shifts are the edits a picture meets online
(re-uploads, thumbnails, filters), so the model should not hinge on them.
"""

from __future__ import annotations

import tensorflow as tf

MAX_SHIFT = 3  # pixels of 36: about 8%
JPEG_PROBABILITY = 0.3
JPEG_QUALITY = (50, 95)
BLUR_PROBABILITY = 0.15
BRIGHTNESS_PROBABILITY = 0.2
MAX_BRIGHTNESS = 24.0  # of 255


def augment_batch(x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """A (N, S, S, 3) uint8 batch, each picture edited independently.

    `seed` (shape [2], integers) drives stateless random ops only, so a seeded run
    draws the same edits whatever ran before it in the process.
    """
    seeds = tf.unstack(tf.random.experimental.stateless_split(seed, num=5))
    x = tf.image.stateless_random_flip_left_right(x, seeds[0])
    x = _shift(x, seeds[1])
    x = _jpeg(x, seeds[2])
    x = tf.cast(x, tf.float32)
    x = _blur(x, seeds[3])
    x = _brightness(x, seeds[4])
    return tf.cast(tf.clip_by_value(tf.round(x), 0.0, 255.0), tf.uint8)


def _chosen(n, probability, seed):
    return tf.random.stateless_uniform([n], seed) < probability


def _shift(x, seed):
    """Whole-pixel translations by up to MAX_SHIFT, edges reflected (no black borders)."""
    n = tf.shape(x)[0]
    d = tf.random.stateless_uniform([n, 2], seed, -MAX_SHIFT, MAX_SHIFT + 1, dtype=tf.int32)
    d = tf.cast(d, tf.float32)
    one, zero = tf.ones([n, 1]), tf.zeros([n, 1])
    transforms = tf.concat([one, zero, d[:, :1], zero, one, d[:, 1:], zero, zero], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=x,
        transforms=transforms,
        output_shape=tf.shape(x)[1:3],
        fill_value=0.0,
        interpolation="NEAREST",
        fill_mode="REFLECT",
    )


def _jpeg(x, seed):
    """Re-encode a random JPEG_PROBABILITY share of the pictures at a random quality."""
    n = tf.shape(x)[0]
    one_seed, two_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
    low, high = JPEG_QUALITY[0], JPEG_QUALITY[1] + 1
    quality = tf.random.stateless_uniform([n], one_seed, low, high, dtype=tf.int32)
    chosen = _chosen(n, JPEG_PROBABILITY, two_seed)

    def one(args):
        image, q, apply = args
        return tf.cond(apply, lambda: tf.image.adjust_jpeg_quality(image, q), lambda: image)

    return tf.map_fn(one, (x, quality, chosen), fn_output_signature=tf.uint8)


def _blur(x, seed):
    """A 3x3 Gaussian blur (sigma ~0.8) on a random BLUR_PROBABILITY share."""
    taps = tf.constant([0.25, 0.5, 0.25])
    kernel = tf.tensordot(taps, taps, axes=0)[:, :, None, None]
    kernel = tf.tile(kernel, [1, 1, 3, 1])
    padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
    blurred = tf.nn.depthwise_conv2d(padded, kernel, [1, 1, 1, 1], "VALID")
    chosen = _chosen(tf.shape(x)[0], BLUR_PROBABILITY, seed)
    return tf.where(chosen[:, None, None, None], blurred, x)


def _brightness(x, seed):
    n = tf.shape(x)[0]
    one_seed, two_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
    delta = tf.random.stateless_uniform([n, 1, 1, 1], one_seed, -MAX_BRIGHTNESS, MAX_BRIGHTNESS)
    chosen = _chosen(n, BRIGHTNESS_PROBABILITY, two_seed)
    chosen = tf.cast(chosen, tf.float32)[:, None, None, None]
    return x + delta * chosen
