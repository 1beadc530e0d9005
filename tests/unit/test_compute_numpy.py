"""The numpy backend: every operation against a direct numpy computation."""

from __future__ import annotations

import numpy as np
import pytest

from abi.compute import Compute
from abi.errors import InvalidInput


@pytest.fixture(scope="module")
def compute() -> Compute:
    return Compute("numpy")


def test_numpy_backend_reports_no_devices(compute: Compute) -> None:
    assert compute.describe() == {"backend": "numpy", "active": "numpy", "devices": []}


def test_knn_l2_matches_brute_force(compute: Compute) -> None:
    rng = np.random.default_rng(1)
    q = rng.standard_normal((7, 13)).astype(np.float32)
    x = rng.standard_normal((101, 13)).astype(np.float32)
    dist, idx = compute.knn(q, x, 5, "l2")
    full = ((q[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    expected = np.argsort(full, axis=1)[:, :5]
    np.testing.assert_array_equal(idx, expected)
    np.testing.assert_allclose(dist, np.take_along_axis(full, expected, 1), rtol=1e-4, atol=1e-4)


def test_knn_k_larger_than_database_returns_every_row(compute: Compute) -> None:
    x = np.eye(3, dtype=np.float32)
    dist, idx = compute.knn(x[:1], x, 10, "ip")
    assert idx.shape == (1, 3)
    assert idx[0, 0] == 0
    assert dist[0, 0] == pytest.approx(0.0)


def test_cosine_distance_is_scale_invariant(compute: Compute) -> None:
    q = np.array([[1.0, 2.0, 3.0]], np.float32)
    d = compute.cosine_distances(q, np.vstack([q * 10, -q]))
    np.testing.assert_allclose(d, [[0.0, 2.0]], atol=1e-6)


def test_l2_distances_are_squared_euclidean(compute: Compute) -> None:
    q = np.array([[0.0, 0.0]], np.float32)
    np.testing.assert_allclose(compute.l2_distances(q, [[3.0, 4.0], [1.0, 0.0]]), [[25.0, 1.0]])


def test_topk_smallest_and_largest(compute: Compute) -> None:
    scores = np.array([[3.0, 1.0, 2.0, 5.0]], np.float32)
    vals, idx = compute.topk(scores, 2, largest=True)
    np.testing.assert_array_equal(idx, [[3, 0]])
    vals, idx = compute.topk(scores, 2, largest=False)
    np.testing.assert_array_equal(idx, [[1, 2]])
    np.testing.assert_array_equal(vals, [[1.0, 2.0]])


def test_gemm_with_transposes_alpha_beta(compute: Compute) -> None:
    rng = np.random.default_rng(2)
    a = rng.standard_normal((5, 3)).astype(np.float32)
    b = rng.standard_normal((4, 3)).astype(np.float32)
    c = rng.standard_normal((3, 3)).astype(np.float32)
    out = compute.gemm(a, a, alpha=2.0, beta=0.5, c=c, trans_a=True)
    np.testing.assert_allclose(out, 2.0 * a.T @ a + 0.5 * c, rtol=1e-5, atol=1e-5)
    out = compute.gemm(a, b, trans_b=True)
    np.testing.assert_allclose(out, a @ b.T, rtol=1e-5, atol=1e-6)


def test_gemm_shape_mismatch_is_invalid_input(compute: Compute) -> None:
    with pytest.raises(InvalidInput, match="do not match"):
        compute.gemm(np.ones((2, 3)), np.ones((2, 3)))


def test_activations_match_definitions(compute: Compute) -> None:
    x = np.linspace(-8, 8, 33, dtype=np.float32)
    np.testing.assert_allclose(compute.relu(x), np.maximum(x, 0))
    np.testing.assert_allclose(
        compute.sigmoid(x), 1 / (1 + np.exp(-x.astype(np.float64))), rtol=1e-6
    )
    np.testing.assert_allclose(compute.tanh(x), np.tanh(x), rtol=1e-6)
    import math

    gelu = [0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.tolist()]
    np.testing.assert_allclose(compute.gelu(x), gelu, rtol=1e-5, atol=1e-6)


def test_softmax_rows_sum_to_one_without_overflow(compute: Compute) -> None:
    x = np.array([[1000.0, 1001.0], [0.0, 0.0]], np.float32)
    out = compute.softmax(x)
    np.testing.assert_allclose(out.sum(axis=1), [1.0, 1.0], rtol=1e-6)
    assert np.isfinite(out).all()


def test_layer_norm_normalises_last_axis(compute: Compute) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 10)).astype(np.float32) * 5 + 2
    out = compute.layer_norm(x, np.ones(10), np.zeros(10))
    np.testing.assert_allclose(out.mean(-1), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(-1), 1, atol=1e-3)


def test_layer_norm_rejects_wrong_gamma(compute: Compute) -> None:
    with pytest.raises(InvalidInput, match="gamma"):
        compute.layer_norm(np.ones((2, 4)), np.ones(3), np.zeros(4))


def test_kmeans_finds_separated_clusters(compute: Compute) -> None:
    rng = np.random.default_rng(4)
    centers = np.array([[0, 0], [10, 0], [0, 10]], np.float32)
    data = np.concatenate([c + rng.normal(0, 0.3, (50, 2)) for c in centers]).astype(np.float32)
    result = compute.kmeans(data, 3, iters=20, seed=1)
    found = np.sort(np.round(result.centroids).astype(int), axis=0)
    np.testing.assert_array_equal(found, np.sort(centers.astype(int), axis=0))
    assert sorted(result.counts.tolist()) == [50, 50, 50]


def test_kmeans_rejects_k_above_rows(compute: Compute) -> None:
    with pytest.raises(InvalidInput, match="k must lie"):
        compute.kmeans(np.ones((3, 2)), 4)


def test_sgd_momentum_step_in_place(compute: Compute) -> None:
    p = np.ones(3, np.float32)
    g = np.full(3, 0.5, np.float32)
    v = np.full(3, 1.0, np.float32)
    compute.sgd_momentum_step(p, g, v, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(v, 1.4)
    np.testing.assert_allclose(p, 1 - 0.14)


def test_adam_first_step_moves_by_lr(compute: Compute) -> None:
    p = np.zeros(4, np.float32)
    g = np.array([1.0, -2.0, 3.0, -4.0], np.float32)
    m, v = np.zeros_like(p), np.zeros_like(p)
    compute.adam_step(p, g, m, v, step=1, lr=0.01)
    np.testing.assert_allclose(p, -0.01 * np.sign(g), rtol=1e-4)


def test_optimizer_rejects_non_float32_state(compute: Compute) -> None:
    p = np.zeros(3, np.float64)
    with pytest.raises(InvalidInput, match="float32"):
        compute.sgd_momentum_step(p, p, p, lr=0.1)  # type: ignore[arg-type]


def test_unknown_backend_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="unknown compute backend"):
        Compute("cuda")  # type: ignore[arg-type]


def test_ragged_input_is_invalid_input(compute: Compute) -> None:
    with pytest.raises(InvalidInput, match="rectangular"):
        compute.inner_products([[1.0, 2.0], [3.0]], [[1.0, 2.0]])


def test_no_queries_give_empty_results(compute: Compute) -> None:
    dist, idx = compute.knn(np.zeros((0, 4)), np.ones((5, 4)), 3)
    assert dist.shape == (0, 3) and idx.shape == (0, 3)
    vals, cols = compute.topk(np.zeros((0, 7)), 2)
    assert vals.shape == (0, 2) and cols.shape == (0, 2)


def test_dimension_mismatch_names_both_sizes(compute: Compute) -> None:
    with pytest.raises(InvalidInput, match="dimension 3 but the vectors have 4"):
        compute.distances(np.ones((1, 3)), np.ones((2, 4)))
