"""Per-tenant neural models: a layer spec (JSON) plus safetensors weights, saved under the
data directory, built on the compute layer and run for inference (``platform.neural``; the
``neural.infer`` plugin capability calls :meth:`ModelRegistry.infer`).

A spec lists layers in order::

    {"layers": [{"type": "dense", "in": 4, "out": 16}, {"type": "activation", "name": "relu"},
                {"type": "layer_norm", "dim": 16}, {"type": "dropout", "rate": 0.1},
                {"type": "dense", "in": 16, "out": 3}]}
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np

from abi.compute import ACTIVATIONS, Compute
from abi.errors import InvalidInput, NotFound
from abi.neural.layers import Activation, Dense, Dropout, Layer, LayerNorm, Sequential
from abi.neural.serialize import load_weights, save_weights
from abi.neural.train import predict

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
MAX_INFER_ROWS = 4096


def _check_name(kind: str, value: str) -> str:
    if not _NAME.fullmatch(value) or ".." in value:
        raise InvalidInput(
            f"{kind} {value!r} must be 1-63 lowercase letters, digits, '_', '-', '.'"
        )
    return value


def _layer(compute: Compute, spec: dict[str, Any], seed: int) -> Layer:
    kind = spec.get("type")
    try:
        if kind == "dense":
            return Dense(compute, int(spec["in"]), int(spec["out"]), seed=seed)
        if kind == "activation" and spec.get("name") in ACTIVATIONS:
            return Activation(compute, spec["name"])
        if kind == "layer_norm":
            return LayerNorm(compute, int(spec["dim"]))
        if kind == "dropout":
            return Dropout(compute, float(spec["rate"]), seed=seed)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"layer {spec!r} is missing or has a bad field: {exc}") from exc
    raise InvalidInput(
        f"unknown layer {spec!r}: use dense (in, out), activation (name: "
        f"{', '.join(ACTIVATIONS)}), layer_norm (dim) or dropout (rate)"
    )


def build_model(compute: Compute, spec: dict[str, Any], seed: int = 0) -> Sequential:
    """A :class:`Sequential` from a spec; dense layer widths must chain."""
    layers = spec.get("layers") if isinstance(spec, dict) else None
    if not isinstance(layers, list) or not layers:
        raise InvalidInput('a model spec needs a non-empty "layers" list')
    built = [_layer(compute, dict(item), seed + i) for i, item in enumerate(layers)]
    width: int | None = None
    for layer in built:
        if isinstance(layer, Dense):
            n_in, n_out = layer.weight.value.shape
            if width is not None and n_in != width:
                raise InvalidInput(f"a dense layer takes {n_in} inputs but gets {width}")
            width = n_out
        elif (
            isinstance(layer, LayerNorm)
            and width is not None
            and layer.gamma.value.shape[0] != width
        ):
            raise InvalidInput(f"layer_norm dim must be {width}")
    return Sequential(compute, built)


def input_width(model: Sequential) -> int | None:
    """The number of inputs of the first Dense layer (None when there is none)."""
    for layer in model:
        if isinstance(layer, Dense):
            return int(layer.weight.value.shape[0])
    return None


class ModelRegistry:
    """Saved models per tenant: ``<root>/<tenant>/<model>/{spec.json, weights.safetensors}``."""

    def __init__(self, root: Path, compute: Compute) -> None:
        self.root = root
        self.compute = compute
        self._cache: dict[tuple[str, str], Sequential] = {}
        self._lock = threading.Lock()

    def _dir(self, tenant_id: str, name: str) -> Path:
        return self.root / _check_name("tenant", tenant_id) / _check_name("model name", name)

    def save(self, tenant_id: str, name: str, spec: dict[str, Any], model: Sequential) -> None:
        """Store ``model`` (built from ``spec``) under ``name``, replacing an older one."""
        folder = self._dir(tenant_id, name)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        save_weights(model, folder / "weights.safetensors", {"model": name})
        with self._lock:
            self._cache[(tenant_id, name)] = model

    def load(self, tenant_id: str, name: str) -> Sequential:
        """The saved model, built once and cached."""
        key = (tenant_id, name)
        with self._lock:
            found = self._cache.get(key)
        if found is not None:
            return found
        folder = self._dir(tenant_id, name)
        if not (folder / "spec.json").is_file():
            raise NotFound(f"model {name!r} does not exist", code="neural.model_not_found")
        spec = json.loads((folder / "spec.json").read_text(encoding="utf-8"))
        model = build_model(self.compute, spec)
        load_weights(model, folder / "weights.safetensors")
        with self._lock:
            self._cache[key] = model
        return model

    def names(self, tenant_id: str) -> list[str]:
        """The tenant's model names."""
        folder = self.root / _check_name("tenant", tenant_id)
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def delete(self, tenant_id: str, name: str) -> bool:
        folder = self._dir(tenant_id, name)
        with self._lock:
            self._cache.pop((tenant_id, name), None)
        if not folder.is_dir():
            return False
        shutil.rmtree(folder)
        return True

    def infer(self, tenant_id: str, model: str, inputs: list[list[float]]) -> list[list[float]]:
        """Run the tenant's model on a batch of input rows (at most 4,096)."""
        net = self.load(tenant_id, model)
        try:
            x = np.asarray(inputs, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"inputs must be rows of numbers: {exc}") from exc
        width = input_width(net)
        if x.ndim != 2 or x.shape[0] == 0 or (width is not None and x.shape[1] != width):
            raise InvalidInput(f"model {model!r} takes rows of {width} numbers")
        if x.shape[0] > MAX_INFER_ROWS:
            raise InvalidInput(f"at most {MAX_INFER_ROWS} rows per inference call")
        out: list[list[float]] = predict(net, x).tolist()
        return out
