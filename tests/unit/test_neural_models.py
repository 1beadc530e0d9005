"""Per-tenant saved models and inference (``platform.neural``, the ``neural.infer`` backend)."""

from __future__ import annotations

import numpy as np
import pytest

from abi.compute import Compute
from abi.errors import InvalidInput, NotFound
from abi.neural.losses import CrossEntropyLoss
from abi.neural.models import ModelRegistry, build_model
from abi.neural.optim import Adam
from abi.neural.train import fit, predict
from abi.runtime import Platform

SPEC = {
    "layers": [
        {"type": "dense", "in": 2, "out": 16},
        {"type": "activation", "name": "tanh"},
        {"type": "dense", "in": 16, "out": 2},
    ]
}


def _trained(compute: Compute) -> tuple[object, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)  # XOR of the signs: needs the hidden layer
    model = build_model(compute, SPEC, seed=1)
    fit(
        model,
        CrossEntropyLoss(compute),
        Adam(compute, model.parameters(), lr=0.02),
        x,
        y,
        epochs=40,
        batch_size=32,
    )
    assert (np.argmax(predict(model, x), axis=1) == y).mean() > 0.9
    return model, x


def test_saved_model_infers_like_the_trained_one(platform: Platform) -> None:
    model, x = _trained(platform.compute)
    platform.neural.save("t_a", "xor", SPEC, model)
    fresh = ModelRegistry(platform.settings.data_dir / "models", platform.compute)
    out = fresh.infer("t_a", "xor", x[:5].tolist())
    np.testing.assert_allclose(out, predict(model, x[:5]), rtol=1e-5, atol=1e-6)
    assert fresh.names("t_a") == ["xor"]


def test_another_tenant_cannot_reach_the_model(platform: Platform) -> None:
    model, _ = _trained(Compute("numpy"))
    platform.neural.save("t_a", "xor", SPEC, model)
    with pytest.raises(NotFound):
        platform.neural.infer("t_b", "xor", [[0.0, 1.0]])
    assert platform.neural.names("t_b") == []


def test_wrong_input_width_is_invalid_input(platform: Platform) -> None:
    platform.neural.save("t_a", "m", SPEC, build_model(platform.compute, SPEC))
    with pytest.raises(InvalidInput, match="rows of 2 numbers"):
        platform.neural.infer("t_a", "m", [[1.0, 2.0, 3.0]])


def test_path_like_names_are_refused(platform: Platform) -> None:
    with pytest.raises(InvalidInput, match="model name"):
        platform.neural.infer("t_a", "../etc", [[0.0, 0.0]])


def test_spec_widths_must_chain() -> None:
    bad = {"layers": [{"type": "dense", "in": 2, "out": 4}, {"type": "dense", "in": 5, "out": 1}]}
    with pytest.raises(InvalidInput, match="takes 5 inputs but gets 4"):
        build_model(Compute("numpy"), bad)


def test_unknown_layer_type_is_named() -> None:
    with pytest.raises(InvalidInput, match="unknown layer"):
        build_model(Compute("numpy"), {"layers": [{"type": "conv"}]})


def test_delete_removes_the_model(platform: Platform) -> None:
    platform.neural.save("t_a", "m", SPEC, build_model(platform.compute, SPEC))
    assert platform.neural.delete("t_a", "m") is True
    with pytest.raises(NotFound):
        platform.neural.infer("t_a", "m", [[0.0, 0.0]])


def test_registry_fits_the_plugin_neural_service_protocol(platform: Platform) -> None:
    from abi.plugins.host.base import NeuralService
    from abi.plugins.service import _conforms

    assert _conforms(platform.neural, NeuralService)
