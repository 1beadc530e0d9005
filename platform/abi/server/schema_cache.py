"""Reuse pydantic ``TypeAdapter``s inside quart-schema.

quart-schema builds a fresh ``TypeAdapter`` for every validated request and every converted
response (about 0.1 ms each: schema generation runs again). The adapters depend only on the
type, so :func:`install` swaps in a factory that builds one per type and reuses it; the
validation and serialization results are the same.
"""

from __future__ import annotations

import threading
from typing import Any

from pydantic import TypeAdapter
from quart_schema import conversion

_adapters: dict[Any, TypeAdapter[Any]] = {}
_lock = threading.Lock()


def cached_type_adapter(type_: Any, *args: Any, **kwargs: Any) -> TypeAdapter[Any]:
    """``TypeAdapter(type_)``, built once per (hashable) type."""
    if args or kwargs:
        return TypeAdapter(type_, *args, **kwargs)
    try:
        adapter = _adapters.get(type_)
    except TypeError:  # an unhashable type: nothing to cache on
        return TypeAdapter(type_)
    if adapter is None:
        adapter = TypeAdapter(type_)
        with _lock:
            _adapters[type_] = adapter
    return adapter


def install() -> None:
    """Make quart-schema use the cached factory (idempotent; process-wide)."""
    if getattr(conversion, "TypeAdapter", None) is not None:
        setattr(conversion, "TypeAdapter", cached_type_adapter)  # noqa: B010
