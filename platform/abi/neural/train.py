"""Training loop with mini-batches and validation metrics, evaluation and inference."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TextIO

import numpy as np
import numpy.typing as npt

from abi.errors import InvalidInput
from abi.neural.layers import F32, Sequential
from abi.neural.optim import Optimizer


class Loss(Protocol):
    name: str

    def __call__(self, pred: F32, target: npt.ArrayLike) -> tuple[float, F32]: ...


def accuracy(pred: F32, target: npt.ArrayLike) -> float:
    """Share of rows whose arg-max is the integer label."""
    labels = np.asarray(target)
    return float(np.mean(np.argmax(pred, axis=1) == labels)) if labels.size else 0.0


def mean_squared_error(pred: F32, target: npt.ArrayLike) -> float:
    t = np.asarray(target, dtype=np.float32).reshape(pred.shape)
    return float(np.mean((pred - t) ** 2))


METRICS: dict[str, Callable[[F32, npt.ArrayLike], float]] = {
    "accuracy": accuracy,
    "mse": mean_squared_error,
}


@dataclass(frozen=True)
class EpochStats:
    """Loss, duration and validation figures of one training epoch."""

    epoch: int
    loss: float
    """Mean training loss over the epoch's batches."""
    seconds: float
    val_loss: float | None = None
    val_metrics: dict[str, float] = field(default_factory=dict)

    def line(self, epochs: int) -> str:
        """A one-line progress report, e.g. ``epoch 3/10  loss 0.1234  val_loss ...``."""
        parts = [f"epoch {self.epoch}/{epochs}", f"loss {self.loss:.4f}"]
        if self.val_loss is not None:
            parts.append(f"val_loss {self.val_loss:.4f}")
        parts += [f"val_{k} {v:.4f}" for k, v in self.val_metrics.items()]
        return "  ".join(parts) + f"  ({self.seconds:.2f}s)"


@dataclass
class History:
    """Every epoch's figures of one training run, in order."""

    epochs: list[EpochStats] = field(default_factory=list)

    @property
    def last(self) -> EpochStats:
        """The figures of the last epoch."""
        return self.epochs[-1]


def _batches(n: int, batch_size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    order = rng.permutation(n) if rng is not None else np.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def predict(model: Sequential, x: npt.ArrayLike, batch_size: int = 256) -> F32:
    """Inference: the model's outputs for every row of ``x``, in batches."""
    data = np.asarray(x)
    if data.shape[0] == 0:
        raise InvalidInput("predict needs at least one row")
    outs = [model.forward(data[i : i + batch_size]) for i in range(0, data.shape[0], batch_size)]
    return np.concatenate(outs).astype(np.float32)


def evaluate(
    model: Sequential, loss: Loss, x: npt.ArrayLike, y: npt.ArrayLike, metrics: Sequence[str] = ()
) -> tuple[float, dict[str, float]]:
    """Loss and metrics of the model on ``(x, y)`` (inference mode)."""
    pred = predict(model, x)
    value, _ = loss(pred, y)
    return value, {name: METRICS[name](pred, y) for name in metrics}


def fit(
    model: Sequential,
    loss: Loss,
    optimizer: Optimizer,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    epochs: int,
    batch_size: int = 32,
    validation: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    metrics: Sequence[str] = (),
    shuffle: bool = True,
    seed: int = 0,
    progress: TextIO | None = None,
    on_epoch: Callable[[EpochStats], None] | None = None,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``(x, y)`` in shuffled mini-batches.

    After every epoch the validation set (when given) is scored with ``metrics``; a line per
    epoch goes to ``progress`` (e.g. ``sys.stderr``) and the stats to ``on_epoch``.
    """
    data, target = np.asarray(x), np.asarray(y)
    if data.shape[0] != target.shape[0] or data.shape[0] == 0:
        raise InvalidInput("x and y need the same, non-zero number of rows")
    if epochs < 1 or batch_size < 1:
        raise InvalidInput("epochs and batch_size must be at least 1")
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise InvalidInput(f"unknown metrics {unknown}; use {sorted(METRICS)}")
    rng = np.random.default_rng(seed) if shuffle else None
    history = History()
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        total, count = 0.0, 0
        for idx in _batches(data.shape[0], batch_size, rng):
            model.zero_grad()
            pred = model.forward(data[idx], training=True)
            value, grad = loss(pred, target[idx])
            model.backward(grad)
            optimizer.step()
            total += value * len(idx)
            count += len(idx)
        val_loss: float | None = None
        val_metrics: dict[str, float] = {}
        if validation is not None:
            val_loss, val_metrics = evaluate(model, loss, *validation, metrics=metrics)
        stats = EpochStats(
            epoch, total / count, time.perf_counter() - started, val_loss, val_metrics
        )
        history.epochs.append(stats)
        if progress is not None:
            print(stats.line(epochs), file=progress, flush=True)
        if on_epoch is not None:
            on_epoch(stats)
    return history


__all__ = ["METRICS", "EpochStats", "History", "evaluate", "fit", "predict"]
