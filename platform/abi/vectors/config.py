"""A collection's definition: what it stores and how it is indexed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from abi.vectors.arrays import METRICS
from abi.vectors.errors import VectorInputError, check_choice
from abi.vectors.indexes import check_params

DTYPES = ("f32", "f16", "bf16", "i8")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class CollectionConfig:
    name: str
    dim: int
    metric: str = "cosine"
    dtype: str = "f16"
    index: str = "hnsw"
    params: dict[str, Any] = field(default_factory=dict)
    payload_indexes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["payload_indexes"] = list(self.payload_indexes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CollectionConfig:
        return cls(**{**data, "payload_indexes": tuple(data.get("payload_indexes", ()))})


def check_config(spec: Mapping[str, Any], max_dimension: int) -> CollectionConfig:
    """Validate a collection definition (the fields of CollectionConfig, defaults for the
    missing ones); every problem is a clear ``vectors.*`` error."""
    unknown = set(spec) - {f.name for f in fields(CollectionConfig)}
    if unknown:
        raise VectorInputError(f"unknown collection settings: {', '.join(sorted(unknown))}")
    name, dim = spec.get("name"), spec.get("dim")
    metric = spec.get("metric", "cosine")
    dtype = spec.get("dtype", "f16")
    index = spec.get("index", "hnsw")
    params = spec.get("params")
    payload_indexes = spec.get("payload_indexes")
    if not isinstance(name, str) or not _NAME.match(name):
        raise VectorInputError(
            f"collection name {name!r} is invalid: 1-63 lowercase letters, digits, '_' or '-', "
            "starting with a letter or digit",
            code="vectors.invalid_name",
        )
    if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= max_dimension:
        raise VectorInputError(
            f"dimension must be an integer in [1, {max_dimension}]",
            code="vectors.invalid_dimension",
        )
    check_choice(metric, METRICS, "metric", "vectors.unknown_metric")
    check_choice(dtype, DTYPES, "storage type", "vectors.unknown_dtype")
    if params is not None and not isinstance(params, Mapping):
        raise VectorInputError("index params are a JSON object")
    checked = check_params(index, dtype, dict(params or {}))
    indexed = list(payload_indexes or ())
    if any(not isinstance(f, str) or not f or len(f) > 128 for f in indexed):
        raise VectorInputError("payload index fields are non-empty strings (dots for nesting)")
    return CollectionConfig(name, dim, metric, dtype, index, checked, tuple(dict.fromkeys(indexed)))
