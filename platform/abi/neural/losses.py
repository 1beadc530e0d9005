"""Losses: each returns the mean loss over the batch and its gradient w.r.t. the outputs."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from abi.compute import Compute
from abi.errors import InvalidInput

F32 = npt.NDArray[np.float32]


class MSELoss:
    """Mean squared error over every element."""

    name = "mse"

    def __call__(self, pred: F32, target: npt.ArrayLike) -> tuple[float, F32]:
        t = np.asarray(target, dtype=np.float32).reshape(pred.shape)
        diff = pred - t
        return float(np.mean(diff * diff)), (2.0 / diff.size * diff).astype(np.float32)


class CrossEntropyLoss:
    """Softmax cross-entropy of logits (batch, classes) against integer class labels."""

    name = "cross_entropy"

    def __init__(self, compute: Compute) -> None:
        self.compute = compute

    def __call__(self, logits: F32, target: npt.ArrayLike) -> tuple[float, F32]:
        labels = np.asarray(target)
        if logits.ndim != 2 or labels.shape != (logits.shape[0],):
            raise InvalidInput("cross-entropy needs logits (batch, classes) and labels (batch,)")
        if not np.issubdtype(labels.dtype, np.integer):
            raise InvalidInput("cross-entropy labels must be integer class indices")
        if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
            raise InvalidInput(f"labels must lie in [0, {logits.shape[1]})")
        probs = self.compute.softmax(logits)
        rows = np.arange(labels.shape[0])
        loss = float(-np.mean(np.log(np.maximum(probs[rows, labels], 1e-30))))
        grad = probs.copy()
        grad[rows, labels] -= 1.0
        grad /= np.float32(max(labels.shape[0], 1))
        return loss, grad
