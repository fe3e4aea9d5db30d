"""The classes a model tells apart, in the one order every head, label and table uses.

train.classes 2: one sigmoid output, p_real (1 = real photograph), layers `logit` and
`p_real`. train.classes 3: softmax over CLASSES, layers `logits` (N, 3) and
`probabilities` (N, 3). P(real) comes from either through `p_real`, so a consumer of
the two-class output keeps working with a three-class model.
"""

from __future__ import annotations

import numpy as np

from model.errors import ModelError

CLASSES = ("real", "modified", "ai")  # the three-class head's outputs, in this order
REAL, MODIFIED, AI = range(len(CLASSES))
LOGITS_LAYER = "logits"  # the three-class head's pre-softmax layer (two-class: "logit")
PROBABILITIES_LAYER = "probabilities"


def class_count(output_width: int) -> int:
    """How many classes a head of `output_width` outputs tells apart (1 -> 2, 3 -> 3)."""
    if output_width == 1:
        return 2
    if output_width == len(CLASSES):
        return len(CLASSES)
    raise ModelError(f"a model head has 1 or {len(CLASSES)} outputs, this one {output_width}")


def three_class_labels(y_real: np.ndarray) -> np.ndarray:
    """Prepared labels (1 = real, 0 = ai) as three-class indices (REAL, AI)."""
    return np.where(np.asarray(y_real) == 1, REAL, AI).astype(np.int64)


def p_real(output: np.ndarray) -> np.ndarray:
    """P(real), shape (N,), from either head's output: (N,) or (N, 1) p_real, or (N, 3)
    class probabilities."""
    output = np.asarray(output, dtype=np.float64)
    if output.ndim == 1:
        return output
    if class_count(output.shape[-1]) == 2:
        return output[:, 0]
    return output[:, REAL]


def probabilities(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """(N, 3) softmax of the three-class logits divided by a temperature."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def real_logit(logits: np.ndarray) -> np.ndarray:
    """One logit per picture whose sigmoid is P(real), from either head's logits: the
    two-class logit itself, or log P(real) - log P(modified or ai) of the three."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim == 1:
        return logits
    if class_count(logits.shape[-1]) == 2:
        return logits[:, 0]
    others = np.delete(logits, REAL, axis=-1)
    top = others.max(axis=-1)
    rest = top + np.log(np.exp(others - top[:, None]).sum(axis=-1))
    return logits[:, REAL] - rest
