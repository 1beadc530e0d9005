"""Saving and loading model weights in the safetensors format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from abi.errors import InvalidInput
from abi.neural.layers import Layer


def save_weights(model: Layer, path: Path | str, metadata: dict[str, str] | None = None) -> None:
    """Write every parameter of ``model`` (by its dotted name) to a safetensors file."""
    tensors = {name: np.ascontiguousarray(p.value) for name, p in model.parameters().items()}
    save_file(tensors, str(path), metadata=metadata)


def load_weights(model: Layer, path: Path | str) -> None:
    """Load a safetensors file into ``model``; every parameter must be present with its
    shape, and nothing changes when one is not."""
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise InvalidInput(f"cannot read weights from {path}: {exc}") from exc
    params = model.parameters()
    missing = sorted(set(params) - set(tensors))
    unexpected = sorted(set(tensors) - set(params))
    if missing or unexpected:
        raise InvalidInput(
            f"weights in {path} do not fit the model: missing {missing}, unexpected {unexpected}"
        )
    for name, p in params.items():
        if tensors[name].shape != p.value.shape:
            raise InvalidInput(
                f"weight {name} has shape {tensors[name].shape}, the model needs {p.value.shape}"
            )
    for name, p in params.items():
        p.value[...] = tensors[name].astype(np.float32)
