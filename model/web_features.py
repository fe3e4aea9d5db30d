"""The web view's features: a frozen backbone's pooled outputs (model/backbone.py) of
pictures at its input size, computed by direct tf.function calls in fixed-size chunks,
and averaged over each picture's square crops (dataset.views.square_crops).

The web_features stage runs it over the scraped pictures (dataset/web.py stores the
result) and serving composes the same backbone with the published head (model/web_view.py),
so training and serving see the same numbers for the same picture.
"""

from __future__ import annotations

import os

import numpy as np

from settings.progress import bar

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class Extractor:
    """Pictures (N, S, S, 3) uint8 -> {"head": (N, 1280), "mid": (N, 496)} float32."""

    def __init__(self, model, image_size: int):
        import tensorflow as tf

        self.model, self.size = model, image_size
        signature = [tf.TensorSpec([None, image_size, image_size, 3], tf.uint8)]
        self._call = tf.function(self._graph, input_signature=signature)

    def _graph(self, x):
        import tensorflow as tf

        return self.model(tf.cast(x, tf.float32), training=False)

    def __call__(self, pictures: np.ndarray, batch_size: int = 32) -> dict[str, np.ndarray]:
        out: dict[str, list] = {}
        for start in range(0, len(pictures), batch_size):
            for name, value in self._call(pictures[start : start + batch_size]).items():
                out.setdefault(name, []).append(value.numpy())
        return {name: np.concatenate(parts) for name, parts in out.items()}


def scraped_rows(frame, groups: dict[str, str]) -> list[dict]:
    """Merge's kept scraped pictures as rows, each with its keyword's group."""
    frame = frame[frame["keep"] & (frame["source"] == "scraped")]
    return [
        {**row, "group": groups.get(row["keyword"], row["keyword"])}
        for row in frame.to_dict("records")
    ]


def mean_per_picture(extractor: Extractor, crops: list[np.ndarray], batch_size: int) -> dict:
    """The backbone's features of each picture's crops (a list of (k, S, S, 3)), averaged
    over its crops: {name: (len(crops), D)}."""
    features = extractor(np.concatenate(crops), batch_size)
    starts = np.cumsum([0] + [len(c) for c in crops[:-1]])
    counts = np.array([len(c) for c in crops])[:, None]
    return {name: np.add.reduceat(x, starts) / counts for name, x in features.items()}


def store_features(rows: list[dict], extractor: Extractor, batch_size: int, whole_size: int,
                   crops: int, out=None):  # fmt: skip
    """Decode each row's file once (dataset.web.views_of), run the backbone on the
    picture's square crops and on its small copy's batch by batch, and write data/web/
    (or `out`) atomically."""
    from pathlib import Path

    from dataset import web as store
    from dataset.errors import DatasetError
    from dataset.imaging import ImageError

    if not rows:
        raise DatasetError("no scraped pictures: run the scrape stages first")
    columns: dict[str, list] = {}
    features: dict[str, list] = {}
    small, batch, failed = [], [], {}

    def flush():
        full = mean_per_picture(extractor, [b[0] for b in batch], batch_size)
        shrunk = mean_per_picture(extractor, [b[1] for b in batch], batch_size)
        for name in full:
            features.setdefault(name, []).append(full[name])
            features.setdefault(f"small_{name}", []).append(shrunk[name])
        batch.clear()

    for row in bar(rows, desc="web_features"):
        data = Path(row["path"]).read_bytes()
        try:
            full, small_full, small_whole = store.views_of(data, extractor.size, whole_size, crops)
        except ImageError as e:
            failed[row["id"]] = str(e)
            continue
        for key, value in store.file_columns(data, row).items():
            columns.setdefault(key, []).append(value)
        small.append(small_whole)
        batch.append((full, small_full))
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    if not small:
        raise DatasetError(f"none of the {len(rows)} scraped pictures decoded")
    stacked = {name: np.concatenate(parts) for name, parts in features.items()}
    return store.write(columns, stacked, np.stack(small), failed, out=out or store.OUT)
