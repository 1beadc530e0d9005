"""The compute benchmark behind ``abi bench compute``: OpenCL against numpy in one run.

Every comparison alternates the two sides round by round (this machine's speed swings
within seconds) and reports the median of each side with their ratio.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from abi.compute import reference as ref
from abi.compute.api import Compute
from abi.compute.component import default_cache_dir
from abi.compute.device import OpenCLDevice


def _alternate(rounds: int, *fns: Callable[[], Any]) -> list[float]:
    """Median seconds of each function, run in alternating order (after one warm-up)."""
    times: list[list[float]] = [[] for _ in fns]
    for fn in fns:
        fn()
    for r in range(rounds):
        order = list(range(len(fns)))
        if r % 2:
            order.reverse()
        for i in order:
            start = time.perf_counter()
            fns[i]()
            times[i].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def _peak_gflops(dev: OpenCLDevice) -> float | None:
    """Theoretical f32 peak of an AVX2/FMA CPU device: 2 FMA units x 8 lanes x 2 flops."""
    if dev.info.type != "cpu":
        return None
    return dev.info.compute_units * dev.info.max_clock_mhz * 1e-3 * 32


def compare_kernels(
    dev: OpenCLDevice,
    *,
    queries: int,
    vectors: int,
    dim: int,
    k: int,
    gemm_size: int,
    rounds: int,
) -> dict[str, Any]:
    """kNN, distances and GEMM on ``dev`` against numpy, same data, alternating."""
    rng = np.random.default_rng(0)
    q = rng.standard_normal((queries, dim)).astype(np.float32)
    x = rng.standard_normal((vectors, dim)).astype(np.float32)
    flops = 2.0 * queries * vectors * dim
    knn_cl, knn_np = _alternate(
        rounds,
        lambda: dev.knn(q, x, k, "l2"),
        lambda: ref.topk(ref.distances(q, x, "l2"), k, False),
    )
    dist_cl, dist_np = _alternate(
        rounds, lambda: dev.distances(q, x, "l2"), lambda: ref.distances(q, x, "l2")
    )
    a = rng.standard_normal((gemm_size, gemm_size)).astype(np.float32)
    b = rng.standard_normal((gemm_size, gemm_size)).astype(np.float32)
    gemm_cl, gemm_np = _alternate(
        rounds,
        lambda: dev.gemm(a, b, alpha=1.0, beta=0.0, c=None, trans_b=False),
        lambda: a @ b,
    )
    gemm_flops = 2.0 * gemm_size**3
    return {
        "device": dev.info.name,
        "device_type": dev.info.type,
        "knn_shape": f"{queries}x{vectors}x{dim} k={k} l2",
        "knn_opencl_s": knn_cl,
        "knn_numpy_s": knn_np,
        "knn_speedup": knn_np / knn_cl,
        "distances_opencl_s": dist_cl,
        "distances_numpy_s": dist_np,
        "distances_speedup": dist_np / dist_cl,
        "distances_gflops_opencl": flops / dist_cl / 1e9,
        "distances_gflops_numpy": flops / dist_np / 1e9,
        "gemm_size": gemm_size,
        "gemm_gflops_opencl": gemm_flops / gemm_cl / 1e9,
        "gemm_gflops_numpy": gemm_flops / gemm_np / 1e9,
        "gemm_ratio": gemm_np / gemm_cl,
        "peak_gflops_estimate": _peak_gflops(dev),
        "rounds": rounds,
    }


def embedding_figures(compute: Compute, *, sentences: int, rounds: int) -> dict[str, Any]:
    """Sentences/s at batch 32 of the MiniLM embedder (and of the reference implementation
    when sentence-transformers is installed), and of the hashing embedder."""
    from abi.errors import Unavailable
    from abi.neural.embedders import HashingEmbedder
    from abi.neural.minilm import MiniLMEmbedder, find_model_dir

    words = [
        "vector",
        "search",
        "plugin",
        "sandbox",
        "kernel",
        "tenant",
        "agent",
        "workflow",
        "embedding",
        "model",
    ]
    rng = np.random.default_rng(1)
    texts = [" ".join(rng.choice(words, int(rng.integers(5, 25)))) for _ in range(sentences)]
    out: dict[str, Any] = {}
    hashing = HashingEmbedder()
    (hash_s,) = _alternate(rounds, lambda: hashing.embed(texts))
    out["embed_hashing_sentences_per_s"] = sentences / hash_s
    try:
        model_dir = find_model_dir()
    except Unavailable as exc:
        out["embed_minilm"] = f"skipped: {exc.message}"
        return out
    ours = MiniLMEmbedder.load(compute, model_dir, batch_size=32)
    fns: list[Callable[[], Any]] = [lambda: ours.embed(texts)]
    try:
        from sentence_transformers import SentenceTransformer

        reference = SentenceTransformer(str(model_dir), device="cpu")
        fns.append(lambda: reference.encode(texts, batch_size=32))
    except ImportError:
        out["embed_reference"] = "skipped: sentence-transformers is not installed"
    times = _alternate(rounds, *fns)
    out["embed_minilm_sentences_per_s"] = sentences / times[0]
    out["embed_batch_size"] = 32
    if len(times) > 1:
        out["embed_reference_sentences_per_s"] = sentences / times[1]
        out["embed_ratio_to_reference"] = times[1] / times[0]
    return out


def run_benchmark(
    *,
    queries: int = 1000,
    vectors: int = 100_000,
    dim: int = 384,
    k: int = 10,
    gemm_size: int = 1024,
    rounds: int = 3,
    embed_sentences: int = 256,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """All figures of ``abi bench compute`` for the first OpenCL device (GPU before CPU)."""
    cache_dir = cache_dir or default_cache_dir()
    compute = Compute("opencl", cache_dir)
    dispatcher = compute.dispatcher
    assert dispatcher is not None  # "opencl" raises Unavailable instead of returning None
    figures = compare_kernels(
        dispatcher.devices[0],
        queries=queries,
        vectors=vectors,
        dim=dim,
        k=k,
        gemm_size=gemm_size,
        rounds=rounds,
    )
    if embed_sentences > 0:
        figures.update(
            embedding_figures(
                Compute("auto", cache_dir),
                sentences=embed_sentences,
                rounds=rounds,
            )
        )
    return figures
