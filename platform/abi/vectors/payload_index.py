"""Payload indexes: per indexed field, the slots holding each value (for equality and sets)
and a sorted view of numeric values (for ranges). Filters use them to resolve candidate slots
without scanning payloads, and the planner uses the candidate count as the selectivity."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from abi.vectors.filters import _MISSING, _elements, field_value, value_key

_EMPTY = np.empty(0, dtype=np.int64)


class FieldIndex:
    """Value -> slots for one payload field."""

    def __init__(self, field: str) -> None:
        self.field = field
        self.path = tuple(field.split("."))
        self.by_value: dict[tuple[str, Any], set[int]] = {}
        self.keys_of: dict[int, list[tuple[str, Any]]] = {}
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, slot: int, payload: Mapping[str, Any] | None) -> None:
        self.remove(slot)
        value = field_value(payload, self.path)
        if value is _MISSING:
            return
        keys = [k for k in (value_key(e) for e in _elements(value)) if k is not None]
        self.keys_of[slot] = keys
        for key in keys:
            self.by_value.setdefault(key, set()).add(slot)
        self._sorted = None

    def remove(self, slot: int) -> None:
        keys = self.keys_of.pop(slot, None)
        if keys is None:
            return
        for key in keys:
            slots = self.by_value.get(key)
            if slots is not None:
                slots.discard(slot)
                if not slots:
                    del self.by_value[key]
        self._sorted = None

    def equal(self, keys: Iterable[tuple[str, Any]]) -> np.ndarray:
        found: set[int] = set()
        for key in keys:
            found |= self.by_value.get(key, set())
        return np.array(sorted(found), dtype=np.int64) if found else _EMPTY

    def numeric(self) -> tuple[np.ndarray, np.ndarray]:
        """(sorted numeric values, their slots), rebuilt after writes."""
        if self._sorted is None:
            values: list[float] = []
            slots: list[int] = []
            for (kind, value), members in self.by_value.items():
                if kind == "n":
                    values.extend([value] * len(members))
                    slots.extend(members)
            order = np.argsort(np.asarray(values, dtype=np.float64), kind="stable")
            self._sorted = (
                np.asarray(values, dtype=np.float64)[order],
                np.asarray(slots, dtype=np.int64)[order],
            )
        return self._sorted

    def range(self, bounds: Mapping[str, Any]) -> np.ndarray | None:
        if any(isinstance(v, str) for v in bounds.values()):
            return None  # string ranges fall back to evaluating payloads
        values, slots = self.numeric()
        lo, hi = 0, len(values)
        if "gt" in bounds:
            lo = max(lo, int(np.searchsorted(values, bounds["gt"], side="right")))
        if "gte" in bounds:
            lo = max(lo, int(np.searchsorted(values, bounds["gte"], side="left")))
        if "lt" in bounds:
            hi = min(hi, int(np.searchsorted(values, bounds["lt"], side="left")))
        if "lte" in bounds:
            hi = min(hi, int(np.searchsorted(values, bounds["lte"], side="right")))
        return np.unique(slots[lo:hi]) if hi > lo else _EMPTY

    def present(self) -> np.ndarray:
        return np.array(sorted(self.keys_of), dtype=np.int64) if self.keys_of else _EMPTY


class PayloadIndex:
    """The indexes of one collection; implements the filters' ``IndexView``."""

    def __init__(self, fields: Iterable[str], live: Any) -> None:
        self.fields = {f: FieldIndex(f) for f in fields}
        self._live = live

    def add(self, slot: int, payload: Mapping[str, Any] | None) -> None:
        for index in self.fields.values():
            index.add(slot, payload)

    def remove(self, slot: int) -> None:
        for index in self.fields.values():
            index.remove(slot)

    def indexed(self, field: str) -> bool:
        return field in self.fields

    def equal(self, field: str, keys: Iterable[tuple[str, Any]]) -> np.ndarray:
        return self.fields[field].equal(keys)

    def range(self, field: str, bounds: Mapping[str, Any]) -> np.ndarray | None:
        return self.fields[field].range(bounds)

    def present(self, field: str) -> np.ndarray:
        return self.fields[field].present()

    def universe(self) -> np.ndarray:
        result: np.ndarray = self._live()
        return result
