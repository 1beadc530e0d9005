"""Every kernel on a real OpenCL device (PoCL here) against the numpy reference, on random
shapes including awkward ones (size 1, odd sizes, non-multiples of the kernels' blocks)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from abi.compute import Compute
from abi.compute import reference as ref
from abi.compute.device import OpenCLDevice, Tuning
from abi.compute.devices import discover

if not discover():
    if os.environ.get("ABI_REQUIRE_TOOLCHAINS"):
        pytest.fail("no OpenCL platform (install pocl-opencl-icd)", pytrace=False)
    pytest.skip("no OpenCL platform (install pocl-opencl-icd)", allow_module_level=True)

SHAPES = [(1, 1, 1), (1, 7, 3), (5, 1, 17), (7, 53, 37), (13, 130, 64), (4, 16, 16)]


@pytest.fixture(scope="module")
def compute(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Compute]:
    c = Compute("opencl", tmp_path_factory.mktemp("cl-cache"))
    yield c
    c.close()


def _rand(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


@contextlib.contextmanager
def _gpu_tuned(compute: Compute) -> Iterator[OpenCLDevice]:
    """The first device running the GPU kernel variants (small distance blocks, local-memory
    GEMM tiles) inside the block, its own tuning again after it."""
    dispatcher = compute.dispatcher
    assert dispatcher is not None
    dev = dispatcher.devices[0]
    previous, dev.tuning = dev.tuning, Tuning(distance_block=(4, 2, 2), gemm_variant="tiled")
    try:
        yield dev
    finally:
        dev.tuning = previous


@pytest.mark.parametrize("metric", ["l2", "ip", "cosine"])
@pytest.mark.parametrize(("nq", "nx", "d"), SHAPES)
def test_distances_match_numpy(compute: Compute, metric: str, nq: int, nx: int, d: int) -> None:
    rng = np.random.default_rng(nq * 1000 + nx + d)
    q, x = _rand(rng, nq, d), _rand(rng, nx, d)
    got = compute.distances(q, x, metric)  # type: ignore[arg-type]
    np.testing.assert_allclose(got, ref.distances(q, x, metric), rtol=1e-4, atol=1e-4)  # type: ignore[arg-type]


def test_inner_products_match_numpy(compute: Compute) -> None:
    rng = np.random.default_rng(7)
    q, x = _rand(rng, 9, 45), _rand(rng, 31, 45)
    np.testing.assert_allclose(compute.inner_products(q, x), q @ x.T, rtol=1e-4, atol=1e-4)


def test_half_storage_inputs_match_f32_on_the_rounded_values(compute: Compute) -> None:
    rng = np.random.default_rng(8)
    q, x = _rand(rng, 6, 40).astype(np.float16), _rand(rng, 21, 40).astype(np.float16)
    got = compute.distances(q, x, "l2")
    expected = ref.distances(q.astype(np.float32), x.astype(np.float32), "l2")
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("metric", ["l2", "ip", "cosine"])
@pytest.mark.parametrize(("nq", "nx", "k"), [(1, 1, 1), (3, 50, 5), (9, 1000, 10), (2, 7, 20)])
def test_knn_matches_numpy(compute: Compute, metric: str, nq: int, nx: int, k: int) -> None:
    rng = np.random.default_rng(nx + k)
    q, x = _rand(rng, nq, 24), _rand(rng, nx, 24)
    dist, idx = compute.knn(q, x, k, metric)  # type: ignore[arg-type]
    e_dist, e_idx = ref.topk(ref.distances(q, x, metric), k, False)  # type: ignore[arg-type]
    np.testing.assert_array_equal(idx, e_idx)
    np.testing.assert_allclose(dist, e_dist, rtol=1e-4, atol=1e-4)


def test_knn_over_several_database_chunks(
    compute: Compute, monkeypatch: pytest.MonkeyPatch
) -> None:
    from abi.compute import device

    monkeypatch.setattr(device, "_SCRATCH_BYTES", 4 * 3 * 64)  # 3 queries: 64-row chunks
    rng = np.random.default_rng(9)
    q, x = _rand(rng, 3, 19), _rand(rng, 1001, 19)
    dist, idx = compute.knn(q, x, 7, "l2")
    e_dist, e_idx = ref.topk(ref.distances(q, x, "l2"), 7, False)
    np.testing.assert_array_equal(idx, e_idx)
    np.testing.assert_allclose(dist, e_dist, rtol=1e-4, atol=1e-4)


def test_knn_k_above_kernel_capacity_is_still_exact(compute: Compute) -> None:
    rng = np.random.default_rng(10)
    q, x = _rand(rng, 2, 8), _rand(rng, 400, 8)
    _, idx = compute.knn(q, x, 200, "ip")
    np.testing.assert_array_equal(idx, ref.topk(ref.distances(q, x, "ip"), 200, False)[1])


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize(("rows", "n", "k"), [(1, 1, 1), (1, 100_000, 10), (37, 333, 9), (4, 5, 8)])
def test_topk_matches_numpy(compute: Compute, largest: bool, rows: int, n: int, k: int) -> None:
    rng = np.random.default_rng(rows + n)
    s = _rand(rng, rows, n)
    vals, idx = compute.topk(s, k, largest)
    e_vals, e_idx = ref.topk(s, k, largest)
    np.testing.assert_array_equal(idx, e_idx)
    np.testing.assert_array_equal(vals, e_vals)


GEMM_SHAPES = [(1, 1, 1), (8, 16, 4), (9, 17, 5), (33, 65, 31), (64, 48, 100), (3, 200, 1)]


@pytest.mark.parametrize(("m", "n", "k"), GEMM_SHAPES)
def test_gemm_matches_numpy(compute: Compute, m: int, n: int, k: int) -> None:
    rng = np.random.default_rng(m * n * k)
    a, b, c = _rand(rng, m, k), _rand(rng, k, n), _rand(rng, m, n)
    np.testing.assert_allclose(compute.gemm(a, b), a @ b, rtol=1e-4, atol=1e-4)
    got = compute.gemm(a, b, alpha=1.5, beta=-0.5, c=c)
    np.testing.assert_allclose(got, 1.5 * a @ b - 0.5 * c, rtol=1e-4, atol=1e-4)


def test_gemm_transposes(compute: Compute) -> None:
    rng = np.random.default_rng(11)
    a, b = _rand(rng, 21, 13), _rand(rng, 29, 21)
    np.testing.assert_allclose(
        compute.gemm(a, b, trans_a=True, trans_b=True), a.T @ b.T, rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize(("m", "n", "k"), GEMM_SHAPES)
def test_gpu_tiled_gemm_variant_is_correct(compute: Compute, m: int, n: int, k: int) -> None:
    rng = np.random.default_rng(m + n + k)
    a, b = _rand(rng, m, k), _rand(rng, k, n)
    with _gpu_tuned(compute) as dev:
        got = dev.gemm(a, b, alpha=1.0, beta=0.0, c=None, trans_b=False)
    np.testing.assert_allclose(got, a @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["relu", "gelu", "sigmoid", "tanh"])
@pytest.mark.parametrize("size", [1, 7, 8, 1001, 70_001])
def test_activations_match_numpy(compute: Compute, name: str, size: int) -> None:
    x = np.random.default_rng(size).standard_normal(size).astype(np.float32) * 6
    got = compute.activation(name, x)  # type: ignore[arg-type]
    np.testing.assert_allclose(got, getattr(ref, name)(x), rtol=1e-5, atol=1e-6)


def test_activation_keeps_shape(compute: Compute) -> None:
    x = np.linspace(-2, 2, 24, dtype=np.float32).reshape(2, 3, 4)
    assert compute.gelu(x).shape == (2, 3, 4)


@pytest.mark.parametrize(("rows", "n"), [(1, 1), (3, 7), (17, 384), (2, 1000)])
def test_softmax_and_layer_norm_match_numpy(compute: Compute, rows: int, n: int) -> None:
    rng = np.random.default_rng(rows * n)
    x = _rand(rng, rows, n) * 3
    g, b = _rand(rng, n), _rand(rng, n)
    np.testing.assert_allclose(compute.softmax(x), ref.softmax(x), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        compute.layer_norm(x, g, b), ref.layer_norm(x, g, b, 1e-5), rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize(("n", "k", "d"), [(1, 1, 1), (100, 7, 13), (500, 3, 64)])
def test_kmeans_update_matches_numpy(compute: Compute, n: int, k: int, d: int) -> None:
    rng = np.random.default_rng(n + k + d)
    data, prev = _rand(rng, n, d), _rand(rng, k, d)
    assign = rng.integers(0, max(k - 1, 1), n)  # the last cluster stays empty when k > 1
    got, counts = compute.kmeans_update(data, assign, prev)
    expected, e_counts = ref.kmeans_update(data, assign, prev)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(counts, e_counts)


def test_kmeans_clusters_on_the_device(compute: Compute) -> None:
    rng = np.random.default_rng(12)
    centers = rng.standard_normal((4, 8)).astype(np.float32) * 20
    data = np.concatenate([c + rng.normal(0, 0.5, (60, 8)) for c in centers]).astype(np.float32)
    result = compute.kmeans(data, 4, seed=3)
    assert sorted(result.counts.tolist()) == [60, 60, 60, 60]


@pytest.mark.parametrize("size", [1, 9, 1003])
def test_optimizer_steps_match_numpy(compute: Compute, size: int) -> None:
    rng = np.random.default_rng(size)
    p, g = _rand(rng, size), _rand(rng, size)
    p_ref, v, v_ref = p.copy(), np.full(size, 0.3, np.float32), np.full(size, 0.3, np.float32)
    compute.sgd_momentum_step(p, g, v, lr=0.1, momentum=0.9, weight_decay=0.01)
    ref.sgd_momentum(p_ref, g, v_ref, lr=0.1, momentum=0.9, weight_decay=0.01)
    np.testing.assert_allclose(p, p_ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(v, v_ref, rtol=1e-6, atol=1e-6)
    m, s = np.zeros(size, np.float32), np.zeros(size, np.float32)
    m_ref, s_ref, p_ref = m.copy(), s.copy(), p.copy()
    for step in (1, 2, 3):
        compute.adam_step(p, g, m, s, step=step, lr=0.01, weight_decay=0.1)
        ref.adam(
            p_ref,
            g,
            m_ref,
            s_ref,
            step=step,
            lr=0.01,
            beta1=0.9,
            beta2=0.999,
            eps=1e-8,
            weight_decay=0.1,
        )
    np.testing.assert_allclose(p, p_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s, s_ref, rtol=1e-5, atol=1e-9)


def test_compiled_programs_are_reused_from_the_disk_cache(tmp_path: Path) -> None:
    first = Compute("opencl", tmp_path)
    first.relu(np.ones(3, np.float32))
    assert first.describe()["devices"][0]["programs"] == {"built": 1, "loaded": 0}
    assert list((tmp_path / "kernels").glob("elementwise-*.bin"))
    second = Compute("opencl", tmp_path)
    np.testing.assert_array_equal(second.relu(np.array([-1.0, 2.0], np.float32)), [0.0, 2.0])
    assert second.describe()["devices"][0]["programs"] == {"built": 0, "loaded": 1}


@pytest.mark.parametrize(("nq", "nx", "d"), SHAPES)
def test_gpu_distance_blocks_are_correct(compute: Compute, nq: int, nx: int, d: int) -> None:
    rng = np.random.default_rng(nq + nx + d)
    q, x = _rand(rng, nq, d), _rand(rng, nx, d)
    with _gpu_tuned(compute) as dev:
        got = dev.distances(q, x, "cosine")
        _, idx = dev.knn(q, x, 3, "l2")
    np.testing.assert_allclose(got, ref.distances(q, x, "cosine"), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(idx, ref.topk(ref.distances(q, x, "l2"), 3, False)[1])
