"""Synthetic data and ground truth for tests and benchmarks.

Random normal vectors in many dimensions have no neighbourhood structure (every approximate
index scores recall ~0.1 on them), so recall is measured on clustered data: points around
random centres with a spread that leaves clear nearest neighbours.
"""

from __future__ import annotations

import numpy as np

from abi.vectors import exact


def clustered(
    n: int,
    dim: int,
    clusters: int = 1000,
    *,
    spread: float = 0.35,
    seed: int = 0,
    sample_seed: int | None = None,
) -> np.ndarray:
    """``n`` float32 vectors around ``clusters`` random unit centres (drawn from ``seed``);
    ``sample_seed`` draws other points around the same centres (queries)."""
    centres = np.random.default_rng(seed).normal(size=(clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    rng = np.random.default_rng(seed if sample_seed is None else sample_seed + 1_000_003)
    owner = rng.integers(0, clusters, size=n)
    noise = rng.normal(scale=spread / np.sqrt(dim), size=(n, dim)).astype(np.float32)
    out: np.ndarray = (centres[owner] + noise).astype(np.float32)
    return out


def random_normal(n: int, dim: int, *, seed: int = 0) -> np.ndarray:
    """``n`` float32 vectors with standard normal components: no clusters, so the nearest
    neighbours are barely nearer than the rest."""
    out: np.ndarray = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return out


def ground_truth(
    data: np.ndarray, queries: np.ndarray, k: int, metric: str = "cosine"
) -> np.ndarray:
    """Exact neighbour rows (nq, k) by brute force."""
    if metric == "cosine":
        data = data / np.linalg.norm(data, axis=1, keepdims=True)
        queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    sqnorms = np.einsum("ij,ij->i", data, data).astype(np.float32)
    slots, _ = exact.search(
        queries.astype(np.float32),
        data,
        sqnorms,
        np.arange(len(data)),
        k=k,
        metric="ip" if metric == "cosine" else metric,
    )
    return slots


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean fraction of the true k neighbours present in each found row."""
    k = truth.shape[1]
    hits = sum(
        len(set(f[:k].tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True)
    )
    return hits / truth.size
