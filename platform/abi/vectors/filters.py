"""Payload filters: a small JSON schema, compiled once, evaluated on payloads or indexes.

Schema (each node is one JSON object)::

    {"field": "color", "eq": "red"}            equality (a list value matches any element)
    {"field": "color", "ne": "red"}
    {"field": "price", "gte": 3, "lt": 10}      ranges: gt, gte, lt, lte (numbers or strings)
    {"field": "tag", "in": ["a", "b"]}          set membership; "nin" for the opposite
    {"field": "tag", "exists": true}
    {"and": [node, ...]}, {"or": [node, ...]}, {"not": node}

Field names may use dots for nested objects (``"meta.lang"``). A malformed filter raises
:class:`~abi.vectors.errors.FilterInvalid` naming the offending part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from abi.vectors.errors import FilterInvalid

Scalar = str | int | float | bool
_MISSING = object()
_RANGE_OPS = ("gt", "gte", "lt", "lte")
_VALUE_OPS = ("eq", "ne", "in", "nin", "exists", *_RANGE_OPS)
MAX_FILTER_NODES = 256


def field_value(payload: Mapping[str, Any] | None, path: tuple[str, ...]) -> Any:
    """The value at a dotted path in a payload, or a private MISSING marker."""
    node: Any = payload
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def value_key(value: Any) -> tuple[str, Any] | None:
    """A hashable key that keeps ``True``, ``1`` and ``1.0`` apart where JSON does."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", float(value))
    if isinstance(value, str):
        return ("s", value)
    return None


def _elements(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _comparable(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    both_num = isinstance(a, int | float) and isinstance(b, int | float)
    return both_num or (isinstance(a, str) and isinstance(b, str))


class IndexView(Protocol):
    """What a filter needs from a payload index to resolve candidates without a scan."""

    def indexed(self, field: str) -> bool: ...

    def equal(self, field: str, keys: Iterable[tuple[str, Any]]) -> np.ndarray: ...

    def range(self, field: str, bounds: Mapping[str, Any]) -> np.ndarray | None: ...

    def present(self, field: str) -> np.ndarray: ...

    def universe(self) -> np.ndarray: ...


@dataclass(frozen=True)
class Condition:
    """One field compared with one or more operators (all must hold)."""

    field: str
    ops: tuple[tuple[str, Any], ...]

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.field.split("."))

    def matches(self, payload: Mapping[str, Any] | None) -> bool:
        value = field_value(payload, self.path)
        return all(_check(op, arg, value) for op, arg in self.ops)

    def resolve(self, index: IndexView) -> np.ndarray | None:
        if not index.indexed(self.field):
            return None
        result: np.ndarray | None = None
        bounds = {op: arg for op, arg in self.ops if op in _RANGE_OPS}
        for op, arg in self.ops:
            part: np.ndarray | None
            if op == "eq":
                part = index.equal(self.field, [k for k in [value_key(arg)] if k])
            elif op == "in":
                part = index.equal(self.field, [k for k in map(value_key, arg) if k])
            elif op == "exists":
                present = index.present(self.field)
                part = present if arg else np.setdiff1d(index.universe(), present)
            elif op in ("ne", "nin"):
                keys = [value_key(arg)] if op == "ne" else list(map(value_key, arg))
                part = np.setdiff1d(
                    index.universe(), index.equal(self.field, [k for k in keys if k])
                )
            else:
                continue
            result = part if result is None else np.intersect1d(result, part)
        if bounds:
            ranged = index.range(self.field, bounds)
            if ranged is None:
                return None
            result = ranged if result is None else np.intersect1d(result, ranged)
        return result


def _check(op: str, arg: Any, value: Any) -> bool:
    if op == "exists":
        return (value is not _MISSING) == bool(arg)
    if op == "ne":
        return not _check("eq", arg, value)
    if op == "nin":
        return not _check("in", arg, value)
    if value is _MISSING:
        return False
    elements = _elements(value)
    if op == "eq":
        key = value_key(arg)
        return any(value_key(e) == key for e in elements)
    if op == "in":
        keys = {value_key(a) for a in arg}
        return any(value_key(e) in keys for e in elements)
    compare: Callable[[Any, Any], bool] = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }[op]
    return any(_comparable(e, arg) and compare(e, arg) for e in elements)


@dataclass(frozen=True)
class Logical:
    """``and`` / ``or`` over children, or ``not`` over one child."""

    kind: str
    children: tuple[Node, ...]

    def matches(self, payload: Mapping[str, Any] | None) -> bool:
        if self.kind == "and":
            return all(c.matches(payload) for c in self.children)
        if self.kind == "or":
            return any(c.matches(payload) for c in self.children)
        return not self.children[0].matches(payload)

    def resolve(self, index: IndexView) -> np.ndarray | None:
        """Exactly the matching slots, or a superset for ``and`` with some unindexed parts,
        or None when the index cannot bound the result."""
        parts = [c.resolve(index) for c in self.children]
        if self.kind == "and":
            known = [p for p in parts if p is not None]
            if not known:
                return None
            result = known[0]
            for part in known[1:]:
                result = np.intersect1d(result, part)
            return result
        if any(p is None for p in parts):
            return None
        if self.kind == "not" and not _exact(self.children[0], index):
            return None  # the complement of a superset is not a superset
        if self.kind == "or":
            return np.unique(np.concatenate([p for p in parts if p is not None]))
        return np.setdiff1d(index.universe(), parts[0])  # type: ignore[arg-type]

    def exact(self, index: IndexView) -> bool:
        return all(_exact(c, index) for c in self.children)


Node = Condition | Logical


def _exact(node: Node, index: IndexView) -> bool:
    if isinstance(node, Condition):
        return index.indexed(node.field)
    return node.exact(index)


@dataclass(frozen=True)
class Filter:
    """A compiled filter: ``matches(payload)`` and ``resolve(index)`` (candidate slots)."""

    root: Node
    source: Any

    def matches(self, payload: Mapping[str, Any] | None) -> bool:
        return self.root.matches(payload)

    def resolve(self, index: IndexView) -> tuple[np.ndarray | None, bool]:
        """(candidate slots or None, whether they are exactly the matches)."""
        slots = self.root.resolve(index)
        return slots, slots is not None and _exact(self.root, index)

    def fields(self) -> set[str]:
        found: set[str] = set()
        stack: list[Node] = [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, Condition):
                found.add(node.field)
            else:
                stack.extend(node.children)
        return found


def compile_filter(spec: Any) -> Filter:
    """Validate a filter (JSON value) and compile it."""
    counter = [0]
    return Filter(_compile(spec, "filter", counter), spec)


def _compile(spec: Any, where: str, counter: list[int]) -> Node:
    counter[0] += 1
    if counter[0] > MAX_FILTER_NODES:
        raise FilterInvalid(f"filter has more than {MAX_FILTER_NODES} nodes; simplify it")
    if not isinstance(spec, Mapping) or not spec:
        raise FilterInvalid(f"{where} must be a non-empty JSON object, got {spec!r}")
    logical = [k for k in ("and", "or", "not") if k in spec]
    if logical:
        return _compile_logical(spec, logical, where, counter)
    return _compile_condition(spec, where)


def _compile_logical(
    spec: Mapping[str, Any], logical: list[str], where: str, counter: list[int]
) -> Logical:
    kind = logical[0]
    if len(spec) != 1:
        raise FilterInvalid(f"{where}: {kind!r} must be the only key of its object")
    arg = spec[kind]
    if kind == "not":
        return Logical("not", (_compile(arg, f"{where}.not", counter),))
    if not isinstance(arg, list) or not arg:
        raise FilterInvalid(f"{where}.{kind} must be a non-empty list of filters")
    children = tuple(_compile(c, f"{where}.{kind}[{i}]", counter) for i, c in enumerate(arg))
    return Logical(kind, children)


def _compile_condition(spec: Mapping[str, Any], where: str) -> Condition:
    field = spec.get("field")
    if not isinstance(field, str) or not field or any(not p for p in field.split(".")):
        raise FilterInvalid(
            f"{where}: needs 'field' (a payload key, dots for nesting) or one of and/or/not"
        )
    ops: list[tuple[str, Any]] = []
    for op, arg in spec.items():
        if op == "field":
            continue
        if op not in _VALUE_OPS:
            raise FilterInvalid(
                f"{where}: unknown operator {op!r}; use one of {', '.join(_VALUE_OPS)}"
            )
        ops.append((op, _check_arg(op, arg, where)))
    if not ops:
        raise FilterInvalid(f"{where}: field {field!r} has no operator (eq, in, gte, ...)")
    return Condition(field, tuple(ops))


def _check_arg(op: str, arg: Any, where: str) -> Any:
    if op == "exists":
        if not isinstance(arg, bool):
            raise FilterInvalid(f"{where}: 'exists' takes true or false")
        return arg
    if op in ("in", "nin"):
        if not isinstance(arg, list) or not all(value_key(a) for a in arg):
            raise FilterInvalid(f"{where}: {op!r} takes a list of strings, numbers or booleans")
        return tuple(arg)
    if value_key(arg) is None:
        raise FilterInvalid(f"{where}: {op!r} takes a string, number or boolean, got {arg!r}")
    if op in _RANGE_OPS and isinstance(arg, bool):
        raise FilterInvalid(f"{where}: {op!r} takes a number or string, not a boolean")
    return arg
