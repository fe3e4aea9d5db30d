"""The "container only" baseline: what the file alone (format, size, JPEG quality) tells.

A small logistic regression on those features, trained on the web training pictures
and scored on the same test pictures as the model, so the model's web figure can be
read against it: the web pool is skewed (PNG is more common among ai pictures), and a
model that saw bytes or sizes could cheat.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dataset.web import FORMATS, WebSet


def features(data: WebSet) -> np.ndarray:
    """Format (one-hot), log file size, log width and height, aspect, JPEG quality."""
    one_hot = (data.file_format[:, None] == np.array(FORMATS)[None, :]).astype(float)
    width, height = data.file_width.astype(float), data.file_height.astype(float)
    numeric = np.stack(
        [
            np.log1p(data.file_bytes.astype(float)),
            np.log1p(width),
            np.log1p(height),
            width / np.maximum(height, 1),
            data.jpeg_quality.astype(float),
        ],
        axis=1,
    )
    return np.concatenate([one_hot, numeric], axis=1)


def fit(train: WebSet):
    """The baseline fitted on training pictures."""
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return model.fit(features(train), train.y)


def p_real(model, data: WebSet) -> np.ndarray:
    return model.predict_proba(features(data))[:, 1]
