"""Build the classifier named by `train.architecture`.

Every model takes raw RGB pixels 0-255 (uint8 or float) of shape (S, S, 3), or
(S, S, 6) with ELA, and does its own scaling, so serving feeds exactly what
`dataset.imaging.load_image` returns. With train.classes 2 the output is p_real, shape
(N, 1), and the layer before the sigmoid is named `logit` (temperature scaling divides
it); with 3 it is softmax probabilities (N, 3) in model.classes.CLASSES' order, from
the layer `logits`. The last convolution is `last_conv` (Grad-CAM reads it).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from model.classes import CLASSES, LOGITS_LAYER, PROBABILITIES_LAYER
from model.errors import ModelError

MAX_CNN_PARAMETERS = 1_000_000
PRETRAINED = {
    "inceptionv3": (keras.applications.InceptionV3, 75),
    "resnet50": (keras.applications.ResNet50, 32),
    "efficientnetb0": (keras.applications.EfficientNetB0, 32),
}
# ResNet50's "caffe" preprocessing: RGB -> BGR, minus the ImageNet mean per channel.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def build_model(params, image_size: int) -> keras.Model:
    """The model for `params` (a settings.params.Train) and S = image_size."""
    channels = 6 if params.ela else 3
    inputs = keras.Input((image_size, image_size, channels), dtype="float32", name="pixels")
    if params.architecture == "cnn4":
        features = _cnn4(inputs, params)
    elif params.architecture in PRETRAINED:
        features = _pretrained(inputs, params)
    else:
        raise ModelError(f"unknown architecture {params.architecture!r}")
    x = features
    for units in params.dense:
        x = layers.Dropout(params.dropout)(x)
        x = layers.Dense(units, activation="relu")(x)
    return keras.Model(inputs, _head(x, getattr(params, "classes", 2)), name=params.architecture)


def _head(x, classes: int):
    """p_real (N, 1) from a sigmoid, or (N, 3) softmax probabilities in CLASSES' order.

    float32 even under a mixed-precision policy: the probability must not saturate early.
    """
    if classes == 2:
        logit = layers.Dense(1, name="logit")(x)
        return layers.Activation("sigmoid", dtype="float32", name="p_real")(logit)
    if classes == len(CLASSES):
        logits = layers.Dense(len(CLASSES), name=LOGITS_LAYER)(x)
        return layers.Activation("softmax", dtype="float32", name=PROBABILITIES_LAYER)(logits)
    raise ModelError(f"train.classes must be 2 or {len(CLASSES)}, got {classes}")


def loss_for(classes: int) -> keras.losses.Loss:
    """Two classes: labels 1 = real, 0 = ai; three: indices into CLASSES."""
    if classes == 2:
        return keras.losses.BinaryCrossentropy()
    return keras.losses.SparseCategoricalCrossentropy()


def _cnn4(inputs, params):
    """Four blocks of (conv -> [BN] -> ReLU) x convs_per_block, 2x2 max pooling, [dropout]."""
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    convs = getattr(params, "convs_per_block", 1)
    for block, filters in enumerate(params.filters):
        for i in range(convs):
            last = block == len(params.filters) - 1 and i == convs - 1
            name = "last_conv" if last else f"conv{block + 1}_{i + 1}"
            # No bias before batch norm: its shift makes the bias redundant.
            x = layers.Conv2D(
                filters, 3, padding="same", use_bias=not params.batch_norm, name=name
            )(x)
            if params.batch_norm:
                # momentum 0.9, not Keras' 0.99: the first block's variance is ~0.002
                # against a starting estimate of 1, and at 0.99 the running estimate needs
                # ~600 steps to get there; until then inference disagrees with training.
                # Under a distribution strategy each replica sees a slice of the global
                # batch: synchronized statistics normalize by the whole batch, as one
                # process does, and keep the moving statistics equal on every worker.
                synchronized = getattr(params, "strategy", "default") != "default"
                x = layers.BatchNormalization(momentum=0.9, synchronized=synchronized)(x)
            x = layers.ReLU()(x)
        x = layers.MaxPooling2D(2)(x)
        if params.block_dropout:
            x = layers.Dropout(params.block_dropout)(x)
    return layers.Flatten()(x)


def _pretrained(inputs, params):
    """A frozen keras.applications base at train.pretrained_image_size, new head on top."""
    if params.ela:
        raise ModelError(
            f"train.ela needs architecture cnn4 ({params.architecture} takes 3 channels)"
        )
    factory, min_size = PRETRAINED[params.architecture]
    size = params.pretrained_image_size
    if size < min_size:
        raise ModelError(
            f"train.pretrained_image_size must be at least {min_size} for "
            f"{params.architecture}, got {size}"
        )
    weights = None if params.weights == "none" else "imagenet"
    try:
        base = factory(include_top=False, weights=weights, input_shape=(size, size, 3))
    except Exception as e:  # noqa: BLE001 - urllib, ssl, socket and Keras wrap it differently
        if weights is None:
            raise
        reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise ModelError(
            f"ImageNet weights for {params.architecture} could not be downloaded "
            f"({reason}); connect, or set train.weights: none"
        ) from None
    base.trainable = params.fine_tune
    x = layers.Resizing(size, size, interpolation="bilinear", name="resize")(inputs)
    x = _imagenet_preprocessing(x, params.architecture)
    # training=False keeps the base's batch-norm statistics fixed even when fine-tuned.
    x = base(x, training=False)
    # Our own 1x1 convolution: a trainable adapter and the layer Grad-CAM reads.
    x = layers.Conv2D(256, 1, activation="relu", name="last_conv")(x)
    return layers.GlobalAveragePooling2D()(x)


def _imagenet_preprocessing(x, architecture):
    """Each base's own input convention, from built-in layers only (loads without code)."""
    if architecture == "inceptionv3":
        return layers.Rescaling(1.0 / 127.5, offset=-1.0, name="to_unit_range")(x)
    if architecture == "resnet50":
        # A fixed 1x1 convolution does the channel swap and the mean subtraction.
        caffe = layers.Conv2D(3, 1, trainable=False, name="caffe_preprocessing")
        caffe.build((None, None, None, 3))
        caffe.set_weights([np.eye(3)[::-1].reshape(1, 1, 3, 3), -np.array(CAFFE_MEAN_BGR)])
        return caffe(x)
    return x  # EfficientNet rescales and normalises inside the base itself


def check_size(model: keras.Model, limit: int = MAX_CNN_PARAMETERS) -> None:
    """Refuse a cnn4 over the parameter budget (the model must stay small to serve on CPU)."""
    if model.name == "cnn4" and model.count_params() > limit:
        raise ModelError(
            f"cnn4 has {model.count_params():,} parameters, over the {limit:,} budget; "
            "use fewer train.filters or train.dense units"
        )
