"""Payload filters: schema errors, evaluation on payloads, and resolution through indexes."""

from __future__ import annotations

import numpy as np
import pytest

from abi.vectors.errors import FilterInvalid
from abi.vectors.filters import compile_filter
from abi.vectors.payload_index import PayloadIndex

PAYLOADS = {
    0: {"color": "red", "price": 5, "tags": ["a", "b"], "meta": {"lang": "en"}},
    1: {"color": "blue", "price": 15, "tags": ["b"]},
    2: {"color": "red", "price": 25.5, "flag": True},
    3: {"color": "green"},
}


def _matching(spec: object) -> set[int]:
    flt = compile_filter(spec)
    return {slot for slot, payload in PAYLOADS.items() if flt.matches(payload)}


def _index(fields: list[str]) -> PayloadIndex:
    index = PayloadIndex(fields, lambda: np.asarray(sorted(PAYLOADS), dtype=np.int64))
    for slot, payload in PAYLOADS.items():
        index.add(slot, payload)
    return index


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"field": "color", "eq": "red"}, {0, 2}),
        ({"field": "color", "ne": "red"}, {1, 3}),
        ({"field": "price", "gte": 5, "lt": 25}, {0, 1}),
        ({"field": "tags", "eq": "b"}, {0, 1}),
        ({"field": "tags", "in": ["a", "z"]}, {0}),
        ({"field": "color", "nin": ["red", "blue"]}, {3}),
        ({"field": "price", "exists": False}, {3}),
        ({"field": "meta.lang", "eq": "en"}, {0}),
        ({"field": "flag", "eq": 1}, set()),
        ({"or": [{"field": "color", "eq": "green"}, {"field": "price", "gt": 20}]}, {2, 3}),
        ({"and": [{"field": "color", "eq": "red"}, {"not": {"field": "price", "lt": 10}}]}, {2}),
    ],
)
def test_filter_matches_payloads(spec: object, expected: set[int]) -> None:
    assert _matching(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [
        {},
        [],
        {"field": "x"},
        {"field": "x", "like": "y"},
        {"field": "", "eq": 1},
        {"field": "x", "in": "abc"},
        {"field": "x", "gt": True},
        {"field": "x", "eq": {"nested": 1}},
        {"and": []},
        {"and": [{"field": "x", "eq": 1}], "field": "y"},
        {"not": "x"},
        {"field": "x", "exists": "yes"},
    ],
)
def test_malformed_filter_is_refused_with_its_code(spec: object) -> None:
    with pytest.raises(FilterInvalid) as info:
        compile_filter(spec)
    assert info.value.code == "vectors.filter_invalid"


@pytest.mark.parametrize(
    "spec",
    [
        {"field": "color", "eq": "red"},
        {"field": "price", "gt": 5, "lte": 25.5},
        {"field": "color", "in": ["red", "green"]},
        {"not": {"field": "color", "eq": "red"}},
        {"or": [{"field": "color", "eq": "blue"}, {"field": "price", "lt": 6}]},
    ],
)
def test_index_resolution_equals_payload_evaluation(spec: object) -> None:
    slots, exact = compile_filter(spec).resolve(_index(["color", "price"]))
    assert exact
    assert slots is not None
    assert set(slots.tolist()) == _matching(spec)


def test_and_with_unindexed_part_gives_a_superset() -> None:
    spec = {"and": [{"field": "color", "eq": "red"}, {"field": "flag", "eq": True}]}
    slots, exact = compile_filter(spec).resolve(_index(["color"]))
    assert not exact
    assert slots is not None
    assert set(slots.tolist()) >= _matching(spec)


def test_unindexed_field_cannot_be_resolved() -> None:
    slots, exact = compile_filter({"field": "flag", "eq": True}).resolve(_index(["color"]))
    assert slots is None
    assert not exact


def test_index_forgets_removed_slots() -> None:
    index = _index(["color"])
    index.remove(0)
    slots, _ = compile_filter({"field": "color", "eq": "red"}).resolve(index)
    assert slots is not None
    assert slots.tolist() == [2]
