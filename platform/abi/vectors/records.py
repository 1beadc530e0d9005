"""Validation and encoding of what a write carries: ids, payloads and WAL records."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import msgpack
import numpy as np

from abi.vectors.errors import VectorInputError

VectorId = str | int
MAX_ID_CHARS = 256
MAX_PAYLOAD_BYTES = 65_536
_INT64 = 1 << 63


def check_id(value: Any) -> VectorId:
    """A caller-chosen id: a non-empty string (<= 256 chars) or a 64-bit integer."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise VectorInputError(
            f"an id is a string or an integer, got {value!r}", code="vectors.invalid_id"
        )
    if isinstance(value, int) and not -_INT64 <= value < _INT64:
        raise VectorInputError(
            f"integer id {value} does not fit in 64 bits", code="vectors.invalid_id"
        )
    if isinstance(value, str) and not 0 < len(value) <= MAX_ID_CHARS:
        raise VectorInputError(
            f"a string id has 1 to {MAX_ID_CHARS} characters", code="vectors.invalid_id"
        )
    return value


def check_ids(values: Sequence[Any] | None, n: int) -> list[VectorId]:
    """Ids for ``n`` vectors: checked and unique, or generated (uuid4 hex) when None."""
    if values is None:
        return [uuid.uuid4().hex for _ in range(n)]
    ids = [check_id(v) for v in values]
    if len(ids) != n:
        raise VectorInputError(f"got {len(ids)} ids for {n} vectors; give one id per vector")
    if len(set(ids)) != len(ids):
        raise VectorInputError("ids in one batch must be unique", code="vectors.duplicate_id")
    return ids


def check_payload(value: Any) -> dict[str, Any]:
    """A JSON object (<= 64 KiB encoded) or an empty one for None."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise VectorInputError(
            f"a payload is a JSON object, got {type(value).__name__}",
            code="vectors.invalid_payload",
        )
    try:
        encoded = json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise VectorInputError(
            f"payload is not plain JSON: {exc}", code="vectors.invalid_payload"
        ) from exc
    if len(encoded) > MAX_PAYLOAD_BYTES:
        raise VectorInputError(
            f"a payload is at most {MAX_PAYLOAD_BYTES} bytes of JSON",
            code="vectors.invalid_payload",
        )
    result: dict[str, Any] = json.loads(encoded)
    return result


def check_payloads(values: Sequence[Any] | None, n: int) -> list[dict[str, Any]]:
    if values is None:
        return [{} for _ in range(n)]
    if len(values) != n:
        raise VectorInputError(f"got {len(values)} payloads for {n} vectors")
    return [check_payload(v) for v in values]


def encode(record: dict[str, Any]) -> bytes:
    data: bytes = msgpack.packb(record, use_bin_type=True)
    return data


def decode(body: bytes) -> dict[str, Any]:
    record: dict[str, Any] = msgpack.unpackb(body, raw=False, strict_map_key=False)
    return record


def matrix_bytes(matrix: np.ndarray) -> bytes:
    return np.ascontiguousarray(matrix, dtype=np.float32).tobytes()


def bytes_matrix(data: bytes, dim: int) -> np.ndarray:
    return np.frombuffer(data, dtype=np.float32).reshape(-1, dim).copy()
