"""The vectors of one collection in one growable matrix, addressed by slot.

A slot is the integer key the indexes use; a deleted slot goes to a free list and is reused.
Cosine collections store unit vectors, so every metric reduces to an inner product or a
squared distance computed with one matrix product.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from abi.vectors.errors import VectorInputError

Metric = str  # "cosine" | "ip" | "l2"
METRICS = ("cosine", "ip", "l2")


def check_vectors(value: Any, dim: int, max_rows: int | None = None) -> np.ndarray:
    """A float32 matrix (n, dim) of finite values, or a clear error."""
    try:
        matrix = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise VectorInputError(f"vectors must be numbers: {exc}") from exc
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2 or matrix.shape[1] != dim:
        raise VectorInputError(
            f"vectors must have dimension {dim}, got shape {tuple(np.shape(value))}",
            code="vectors.wrong_dimension",
        )
    if not np.isfinite(matrix).all():
        raise VectorInputError("vectors contain NaN or infinite values", code="vectors.non_finite")
    if max_rows is not None and matrix.shape[0] > max_rows:
        raise VectorInputError(f"at most {max_rows} vectors per call")
    return np.ascontiguousarray(matrix)


def prepare(matrix: np.ndarray, metric: Metric) -> np.ndarray:
    """Vectors as stored and searched: unit length for cosine, unchanged otherwise."""
    if metric != "cosine":
        return matrix
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if (norms == 0).any():
        raise VectorInputError(
            "a zero vector has no direction; cosine collections need non-zero vectors",
            code="vectors.zero_vector",
        )
    out: np.ndarray = (matrix / norms).astype(np.float32)
    return out


class VectorArray:
    """Rows by slot, with liveness, squared norms and a free list."""

    def __init__(self, dim: int, dtype: str = "f32", capacity: int = 1024) -> None:
        self.dim = dim
        self.np_dtype = np.float16 if dtype == "f16" else np.float32
        self.data = np.zeros((capacity, dim), dtype=self.np_dtype)
        self.sqnorms = np.zeros(capacity, dtype=np.float32)
        self.alive = np.zeros(capacity, dtype=bool)
        self.high = 0
        self.free: list[int] = []

    @property
    def count(self) -> int:
        return self.high - len(self.free)

    def _grow(self, need: int) -> None:
        capacity = len(self.data)
        if need <= capacity:
            return
        new = max(need, capacity * 2)
        for name in ("data", "sqnorms", "alive"):
            old = getattr(self, name)
            grown = np.zeros((new, *old.shape[1:]), dtype=old.dtype)
            grown[: self.high] = old[: self.high]
            setattr(self, name, grown)

    def allocate(self, n: int) -> np.ndarray:
        """``n`` free slots (reused ones first, lowest first), not yet written."""
        reuse = sorted(self.free)[:n]
        self.free = sorted(set(self.free) - set(reuse))
        fresh = list(range(self.high, self.high + n - len(reuse)))
        self._grow(self.high + len(fresh))
        self.high += len(fresh)
        return np.asarray(reuse + fresh, dtype=np.int64)

    def write(self, slots: np.ndarray, matrix: np.ndarray) -> None:
        self.data[slots] = matrix
        stored = self.data[slots].astype(np.float32)
        self.sqnorms[slots] = np.einsum("ij,ij->i", stored, stored)
        self.alive[slots] = True

    def release(self, slots: np.ndarray) -> None:
        self.alive[slots] = False
        self.data[slots] = 0
        self.free.extend(int(s) for s in slots)

    def get(self, slots: np.ndarray) -> np.ndarray:
        rows: np.ndarray = self.data[slots].astype(np.float32)
        return rows

    def live_slots(self) -> np.ndarray:
        return np.flatnonzero(self.alive[: self.high]).astype(np.int64)

    def memory_bytes(self) -> int:
        return int(self.data.nbytes + self.sqnorms.nbytes + self.alive.nbytes)

    def state(self) -> dict[str, np.ndarray]:
        """Arrays for a snapshot (trimmed to the used part)."""
        return {
            "data": self.data[: self.high],
            "alive": self.alive[: self.high],
            "free": np.asarray(sorted(self.free), dtype=np.int64),
        }

    def restore(self, data: np.ndarray, alive: np.ndarray, free: np.ndarray) -> None:
        self.high = len(data)
        self.data = np.zeros((max(self.high, 1024), self.dim), dtype=self.np_dtype)
        self.data[: self.high] = data
        self.alive = np.zeros(len(self.data), dtype=bool)
        self.alive[: self.high] = alive
        stored = self.data[: self.high].astype(np.float32)
        self.sqnorms = np.zeros(len(self.data), dtype=np.float32)
        self.sqnorms[: self.high] = np.einsum("ij,ij->i", stored, stored)
        self.free = [int(s) for s in free]
