"""Training on a real task: scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from abi.compute import Compute
from abi.compute.devices import discover
from abi.neural.layers import Activation, Dense, Dropout, LayerNorm, Sequential
from abi.neural.losses import CrossEntropyLoss
from abi.neural.optim import SGD, Adam
from abi.neural.serialize import load_weights, save_weights
from abi.neural.train import evaluate, fit, predict


def _digits() -> tuple[np.ndarray, ...]:
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    return x[:1400], y[:1400], x[1400:], y[1400:]


def _mlp(compute: Compute) -> Sequential:
    return Sequential(
        compute,
        [
            Dense(compute, 64, 128, seed=1),
            LayerNorm(compute, 128),
            Activation(compute, "gelu"),
            Dropout(compute, 0.1, seed=2),
            Dense(compute, 128, 10, seed=3),
        ],
    )


@pytest.fixture(scope="module")
def compute(tmp_path_factory: pytest.TempPathFactory) -> Compute:
    """Every operation of training on the OpenCL device when there is one (numpy otherwise):
    the kernels carry a real training run."""
    backend = "opencl" if discover() or os.environ.get("ABI_REQUIRE_TOOLCHAINS") else "numpy"
    return Compute(backend, tmp_path_factory.mktemp("cl-cache"))


def test_mlp_learns_digits_to_95_percent_with_adam(compute: Compute) -> None:
    x, y, vx, vy = _digits()
    model = _mlp(compute)
    loss = CrossEntropyLoss(compute)
    progress = io.StringIO()
    history = fit(
        model,
        loss,
        Adam(compute, model.parameters(), lr=3e-3),
        x,
        y,
        epochs=8,
        batch_size=48,
        validation=(vx, vy),
        metrics=["accuracy"],
        progress=progress,
    )
    assert history.last.val_metrics["accuracy"] >= 0.95
    assert history.epochs[-1].loss < history.epochs[0].loss
    assert progress.getvalue().count("\n") == 8
    assert "val_accuracy" in progress.getvalue()


def test_sgd_momentum_learns_digits_to_90_percent() -> None:
    compute = Compute("numpy")
    x, y, vx, vy = _digits()
    model = Sequential(
        compute,
        [
            Dense(compute, 64, 64, seed=4),
            Activation(compute, "relu"),
            Dense(compute, 64, 10, seed=5),
        ],
    )
    loss = CrossEntropyLoss(compute)
    fit(model, loss, SGD(compute, model.parameters(), lr=0.05, momentum=0.9), x, y, epochs=10)
    _, metrics = evaluate(model, loss, vx, vy, metrics=["accuracy"])
    assert metrics["accuracy"] >= 0.90


def test_weights_round_trip_through_safetensors(compute: Compute, tmp_path: Path) -> None:
    x, y, vx, _ = _digits()
    model = _mlp(compute)
    fit(
        model, CrossEntropyLoss(compute), Adam(compute, model.parameters(), lr=3e-3), x, y, epochs=1
    )
    save_weights(model, tmp_path / "digits.safetensors", {"task": "digits"})
    fresh = _mlp(compute)
    assert not np.allclose(predict(fresh, vx), predict(model, vx))
    load_weights(fresh, tmp_path / "digits.safetensors")
    np.testing.assert_array_equal(predict(fresh, vx), predict(model, vx))
