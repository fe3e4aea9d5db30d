"""Batches of patches of web pictures for training, and the grid a picture is scored by.

Each epoch, every training picture (already rescaled by the prepare_web stage) is
re-encoded and rescaled at random, alike for both classes, then cut into random
patches. Augmenting the picture before cropping is what the file undergoes on the
web (a resized, re-compressed copy), so the patch sees those traces at their scale.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
import tensorflow as tf
from PIL import Image

from dataset.imaging import interpolation_for
from dataset.views import grid_patches
from dataset.web import WebSet


def augment_picture(rgb: np.ndarray, rng: np.random.Generator, augment) -> np.ndarray:
    """Random downscale-and-back, Gaussian blur, JPEG re-encoding and flip (web.augment)."""
    height, width = rgb.shape[:2]
    if rng.random() < augment.downscale_p:
        factor = rng.uniform(*augment.downscale)
        small = (max(1, round(width * factor)), max(1, round(height * factor)))
        rgb = cv2.resize(rgb, small, interpolation=interpolation_for(shrinking=True))
        rgb = cv2.resize(rgb, (width, height), interpolation=interpolation_for(shrinking=False))
    if rng.random() < augment.blur_p:
        sigma = rng.uniform(*augment.blur_sigma)
        if sigma > 0.05:
            rgb = cv2.GaussianBlur(rgb, (0, 0), sigma)
    if rng.random() < augment.jpeg_p:
        rgb = reencode_jpeg(
            rgb, int(rng.integers(augment.jpeg_quality[0], augment.jpeg_quality[1] + 1))
        )
    if augment.flip and rng.random() < 0.5:
        rgb = rgb[:, ::-1]
    return np.ascontiguousarray(rgb)


def reencode_jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    """The picture after a JPEG round trip at `quality` (Pillow: RGB in, RGB out)."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    with Image.open(buffer) as image:
        return np.asarray(image.convert("RGB"))


def random_patches(rgb: np.ndarray, size: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` random size x size crops of one picture."""
    rows = rng.integers(0, rgb.shape[0] - size + 1, count)
    cols = rng.integers(0, rgb.shape[1] - size + 1, count)
    return np.stack([rgb[r : r + size, c : c + size] for r, c in zip(rows, cols, strict=True)])


def epoch_patches(
    data: WebSet, size: int, crops: int, augment, rng: np.random.Generator, extra=None
) -> tuple[np.ndarray, np.ndarray]:
    """One epoch's shuffled (patches, labels): `crops` patches of each augmented picture,
    plus `extra` = (x, y) whole pictures of size x size mixed in (CIFAKE), if given."""
    x = np.empty((len(data) * crops, size, size, 3), np.uint8)
    for i in range(len(data)):
        picture = data.picture(i)
        if augment is not None:
            picture = augment_picture(picture, rng, augment)
        x[i * crops : (i + 1) * crops] = random_patches(picture, size, crops, rng)
    y = np.repeat(data.y.astype(np.float32), crops)
    if extra is not None:
        x, y = np.concatenate([x, extra[0]]), np.concatenate([y, extra[1].astype(np.float32)])
    order = rng.permutation(len(y))
    return x[order], y[order]


def training_batches(data: WebSet, params, seed: int, extra_source=None) -> tf.data.Dataset:
    """An endless-per-epoch tf.data pipeline of augmented patch batches (web.* settings).

    `extra_source(rng, n)` returns CIFAKE (x, y) to mix in with n web patches each epoch
    (web.cifake_fraction).
    """
    rng = np.random.default_rng(seed)
    size, crops = params.image_size, params.crops_per_picture

    def epoch():
        extra = extra_source(rng, len(data) * crops) if extra_source else None
        x, y = epoch_patches(data, size, crops, params.augment, rng, extra)
        for start in range(0, len(y) - params.batch_size + 1, params.batch_size):
            yield x[start : start + params.batch_size], y[start : start + params.batch_size]

    signature = (
        tf.TensorSpec((params.batch_size, size, size, 3), tf.uint8),
        tf.TensorSpec((params.batch_size,), tf.float32),
    )
    # repeat: Keras counts its epochs in steps of web patches; with CIFAKE mixed in, a
    # generator epoch is longer, and the next one simply follows on.
    data_set = tf.data.Dataset.from_generator(epoch, output_signature=signature).repeat()
    return data_set.prefetch(tf.data.AUTOTUNE)


def grid_batch(data: WebSet, size: int, grid: int) -> np.ndarray:
    """(N * grid * grid, size, size, 3): every picture's scoring patches, picture by picture."""
    return np.concatenate([grid_patches(data.picture(i), size, grid) for i in range(len(data))])


def picture_logits(patch_logits: np.ndarray, grid: int) -> np.ndarray:
    """A picture's logit: the mean of its grid x grid patch logits (aggregate mean_logit)."""
    return patch_logits.reshape(-1, grid * grid).mean(axis=1)
