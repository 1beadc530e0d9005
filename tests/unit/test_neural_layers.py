"""Layer gradients against finite differences; losses, optimizers and weights I/O errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from abi.compute import Compute
from abi.errors import InvalidInput
from abi.neural.layers import Activation, Dense, Dropout, Embedding, Layer, LayerNorm, Sequential
from abi.neural.losses import CrossEntropyLoss, MSELoss
from abi.neural.serialize import load_weights, save_weights

COMPUTE = Compute("numpy")


def _check_input_gradient(layer: Layer, x: np.ndarray, eps: float = 1e-2) -> None:
    """Compare backward() with central differences of sum(forward(x) * w)."""
    rng = np.random.default_rng(0)
    out = layer.forward(x, training=True)
    w = rng.standard_normal(out.shape).astype(np.float32)
    grad = layer.backward(w)
    numeric = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += eps
        minus[i] -= eps
        numeric[i] = ((layer.forward(plus) * w).sum() - (layer.forward(minus) * w).sum()) / (
            2 * eps
        )
    np.testing.assert_allclose(grad, numeric, rtol=2e-2, atol=2e-3)


@pytest.mark.parametrize(
    "layer",
    [
        Dense(COMPUTE, 5, 3, seed=1),
        LayerNorm(COMPUTE, 5),
        Activation(COMPUTE, "gelu"),
        Activation(COMPUTE, "sigmoid"),
        Activation(COMPUTE, "tanh"),
        Activation(COMPUTE, "relu"),
    ],
    ids=["dense", "layernorm", "gelu", "sigmoid", "tanh", "relu"],
)
def test_input_gradients_match_finite_differences(layer: Layer) -> None:
    x = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32)
    x[np.abs(x) < 0.05] = 0.3  # keep relu's kink away from the probe points
    _check_input_gradient(layer, x)


def test_dense_weight_gradient_is_x_transpose_grad() -> None:
    layer = Dense(COMPUTE, 3, 2, seed=2)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    g = np.ones((2, 2), np.float32)
    layer.forward(x, training=True)
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, x.T @ g)
    np.testing.assert_allclose(layer.bias.grad if layer.bias else None, [2.0, 2.0])


def test_embedding_looks_up_and_scatters_gradients() -> None:
    emb = Embedding(COMPUTE, 10, 4, seed=3)
    ids = np.array([[1, 2], [1, 9]])
    out = emb.forward(ids, training=True)
    np.testing.assert_array_equal(out[0, 0], emb.weight.value[1])
    emb.backward(np.ones((2, 2, 4), np.float32))
    assert emb.weight.grad[1].tolist() == [2.0] * 4
    assert not emb.weight.grad[0].any()


def test_embedding_rejects_out_of_range_ids() -> None:
    with pytest.raises(InvalidInput, match="ids must lie"):
        Embedding(COMPUTE, 3, 2).forward(np.array([3]))


def test_dropout_only_while_training_and_preserves_expectation() -> None:
    drop = Dropout(COMPUTE, 0.5, seed=4)
    x = np.ones((200, 50), np.float32)
    np.testing.assert_array_equal(drop.forward(x), x)
    out = drop.forward(x, training=True)
    assert 0.4 < (out == 0).mean() < 0.6
    assert abs(out.mean() - 1.0) < 0.05


def test_cross_entropy_gradient_is_softmax_minus_onehot() -> None:
    logits = np.array([[2.0, 0.0, -1.0]], np.float32)
    loss, grad = CrossEntropyLoss(COMPUTE)(logits, np.array([0]))
    p = np.exp(logits) / np.exp(logits).sum()
    assert loss == pytest.approx(-np.log(p[0, 0]), rel=1e-5)
    np.testing.assert_allclose(grad, p - [[1, 0, 0]], rtol=1e-5)


def test_cross_entropy_rejects_bad_labels() -> None:
    with pytest.raises(InvalidInput, match="labels must lie"):
        CrossEntropyLoss(COMPUTE)(np.zeros((1, 3), np.float32), np.array([3]))


def test_mse_loss_and_gradient() -> None:
    loss, grad = MSELoss()(np.array([[1.0, 3.0]], np.float32), [[0.0, 0.0]])
    assert loss == pytest.approx(5.0)
    np.testing.assert_allclose(grad, [[1.0, 3.0]])


def test_loading_mismatched_weights_changes_nothing(tmp_path: Path) -> None:
    small = Sequential(COMPUTE, [Dense(COMPUTE, 2, 2, seed=5)])
    big = Sequential(COMPUTE, [Dense(COMPUTE, 3, 2, seed=6)])
    save_weights(small, tmp_path / "w.safetensors")
    before = big.parameters()["0.weight"].value.copy()
    with pytest.raises(InvalidInput, match="shape"):
        load_weights(big, tmp_path / "w.safetensors")
    np.testing.assert_array_equal(big.parameters()["0.weight"].value, before)


def test_loading_a_non_safetensors_file_is_invalid_input(tmp_path: Path) -> None:
    (tmp_path / "junk").write_bytes(b"not weights")
    with pytest.raises(InvalidInput, match="cannot read weights"):
        load_weights(Sequential(COMPUTE, [Dense(COMPUTE, 2, 2)]), tmp_path / "junk")
