"""The numpy implementation of every compute operation.

It is the fallback where no OpenCL device exists, the path small problems take (transfer
overhead dominates them), and the reference the kernels are tested against.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

from abi.errors import InvalidInput

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
Metric = Literal["l2", "ip", "cosine"]
"""Distance metrics. Distances are always "smaller is closer", as in usearch: ``l2`` is the
squared Euclidean distance, ``ip`` is ``1 - <q, x>``, ``cosine`` is ``1 - cos(q, x)``."""
METRICS: tuple[Metric, ...] = ("l2", "ip", "cosine")
_NORM_EPS = 1e-12


def as_array(name: str, value: npt.ArrayLike) -> np.ndarray:
    """``np.asarray(value)``, with a clear error for ragged or non-numeric input."""
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{name} must be a rectangular array of numbers: {exc}") from exc


def as_matrix(name: str, value: npt.ArrayLike, dtype: type = np.float32) -> F32:
    """``value`` as a C-contiguous 2-D array of ``dtype``; a 1-D array becomes one row."""
    array = as_array(name, value)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise InvalidInput(f"{name} must be a 2-D array (rows x columns), got {array.ndim}-D")
    if not np.issubdtype(array.dtype, np.number):
        raise InvalidInput(f"{name} must hold numbers, got dtype {array.dtype}")
    return np.ascontiguousarray(array, dtype=dtype)


def check_same_dim(q: np.ndarray, x: np.ndarray) -> None:
    """Raise InvalidInput unless both matrices have the same number of columns."""
    if q.shape[1] != x.shape[1]:
        raise InvalidInput(
            f"queries have dimension {q.shape[1]} but the vectors have {x.shape[1]}; "
            "both must have the same number of columns"
        )


def check_metric(metric: str) -> Metric:
    """``metric`` when it is a known metric; InvalidInput naming the known ones otherwise."""
    if metric not in METRICS:
        raise InvalidInput(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    return metric


def row_norms(x: F32) -> F32:
    """Euclidean norm of every row."""
    squared: F32 = np.einsum("ij,ij->i", x, x, dtype=np.float32)
    return np.sqrt(squared).astype(np.float32)


def inner_products(q: F32, x: F32) -> F32:
    """``q @ x.T``: (nq, d) x (nx, d) -> (nq, nx)."""
    return np.asarray(q @ x.T, dtype=np.float32)


def distances(q: F32, x: F32, metric: Metric) -> F32:
    """Pairwise distances (nq, nx) for ``metric`` (smaller is closer)."""
    ip = inner_products(q, x)
    if metric == "ip":
        return np.subtract(1.0, ip, out=ip)
    if metric == "cosine":
        inv_q = 1.0 / np.maximum(row_norms(q), _NORM_EPS)
        inv_x = 1.0 / np.maximum(row_norms(x), _NORM_EPS)
        ip *= inv_q[:, None]
        ip *= inv_x[None, :]
        return np.subtract(1.0, ip, out=ip)
    qq = np.einsum("ij,ij->i", q, q, dtype=np.float32)
    xx = np.einsum("ij,ij->i", x, x, dtype=np.float32)
    ip *= -2.0
    ip += qq[:, None]
    ip += xx[None, :]
    return np.maximum(ip, 0.0, out=ip)


def topk(scores: F32, k: int, largest: bool) -> tuple[F32, I64]:
    """The ``k`` best entries of every row, best first: (values, column indices)."""
    n = scores.shape[1]
    k = min(k, n)
    keyed = -scores if largest else scores
    if k < n:
        part = np.argpartition(keyed, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(n), scores.shape).copy()
    part_keys = np.take_along_axis(keyed, part, axis=1)
    order = np.argsort(part_keys, axis=1, kind="stable")
    idx = np.take_along_axis(part, order, axis=1).astype(np.int64)
    return np.take_along_axis(scores, idx, axis=1).astype(np.float32), idx


def gemm(a: F32, b: F32, alpha: float, beta: float, c: F32 | None) -> F32:
    """``alpha * a @ b + beta * c``."""
    out = np.asarray(a @ b, dtype=np.float32)
    if alpha != 1.0:
        out *= np.float32(alpha)
    if c is not None and beta != 0.0:
        out += np.float32(beta) * c
    return out


def relu(x: F32) -> F32:
    """``max(x, 0)`` elementwise."""
    return np.maximum(x, np.float32(0.0)).astype(np.float32)


_SQRT_HALF = 1.0 / math.sqrt(2.0)


_ERFC_COEFFS = (
    -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
    0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277,
)  # fmt: skip


def erf(x: F32) -> F32:
    """Error function (Numerical Recipes' erfc Chebyshev fit, fractional error < 1.2e-7);
    numpy has none and scipy is not a dependency."""
    z = np.abs(x).astype(np.float32)
    t = np.float32(1.0) / (np.float32(1.0) + np.float32(0.5) * z)
    poly = np.zeros_like(t)
    for coeff in reversed(_ERFC_COEFFS[1:]):
        poly += np.float32(coeff)
        poly *= t
    poly += np.float32(_ERFC_COEFFS[0])
    poly -= z * z
    erfc = t * np.exp(poly)
    return np.where(x >= 0, 1.0 - erfc, erfc - 1.0).astype(np.float32)


def gelu(x: F32) -> F32:
    """Exact (erf) GELU, as BERT-family models use."""
    return (0.5 * x * (1.0 + erf(x * np.float32(_SQRT_HALF)))).astype(np.float32)


def sigmoid(x: F32) -> F32:
    """``1 / (1 + exp(-x))`` elementwise, without overflow for large negative x."""
    out = np.empty_like(x, dtype=np.float32)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def tanh(x: F32) -> F32:
    """Hyperbolic tangent elementwise."""
    return np.tanh(x).astype(np.float32)


def softmax(x: F32) -> F32:
    """Softmax over the last axis of a 2-D array."""
    shifted = x - x.max(axis=1, keepdims=True)
    e: F32 = np.exp(shifted)
    total: F32 = e.sum(axis=1, keepdims=True)
    return (e / total).astype(np.float32)


def layer_norm(x: F32, gamma: F32, beta: F32, eps: float) -> F32:
    """Normalise every row to mean 0 / variance 1, then scale by gamma and shift by beta."""
    mean: F32 = x.mean(axis=1, keepdims=True, dtype=np.float32)
    centered: F32 = x - mean
    var = np.mean(centered * centered, axis=1, keepdims=True, dtype=np.float32)
    return (centered / np.sqrt(var + np.float32(eps)) * gamma + beta).astype(np.float32)


def kmeans_update(data: F32, assignments: I64, previous: F32) -> tuple[F32, I64]:
    """New centroids as the mean of their members; an empty cluster keeps its centroid."""
    k = previous.shape[0]
    counts = np.bincount(assignments, minlength=k).astype(np.int64)
    out = previous.copy()
    filled = np.flatnonzero(counts)
    if filled.size:
        order = np.argsort(assignments, kind="stable")
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[filled]
        sums = np.add.reduceat(data[order].astype(np.float64), starts, axis=0)
        out[filled] = (sums / counts[filled, None]).astype(np.float32)
    return out, counts


def sgd_momentum(
    param: F32, grad: F32, velocity: F32, *, lr: float, momentum: float, weight_decay: float
) -> None:
    """In place: ``v = momentum * v + (g + wd * p)``; ``p -= lr * v``."""
    g = grad + np.float32(weight_decay) * param if weight_decay else grad
    velocity *= np.float32(momentum)
    velocity += g
    param -= np.float32(lr) * velocity


def adam(
    param: F32,
    grad: F32,
    m: F32,
    v: F32,
    *,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
) -> None:
    """In place AdamW step number ``step`` (1-based); decoupled weight decay."""
    b1, b2 = np.float32(beta1), np.float32(beta2)
    m *= b1
    m += (1 - b1) * grad
    v *= b2
    v += (1 - b2) * grad * grad
    c1 = np.float32(1.0 - beta1**step)
    c2 = np.float32(1.0 - beta2**step)
    update = (m / c1) / (np.sqrt(v / c2) + np.float32(eps))
    if weight_decay:
        param -= np.float32(lr * weight_decay) * param
    param -= np.float32(lr) * update
