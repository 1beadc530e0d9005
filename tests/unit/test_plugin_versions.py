"""Semantic versions and dependency ranges."""

from __future__ import annotations

import pytest

from abi.errors import InvalidInput
from abi.plugins.versions import parse_range, parse_version


@pytest.mark.parametrize(
    ("spec", "inside", "outside"),
    [
        (">=1.2.0, <2", ["1.2.0", "1.9.9"], ["1.1.9", "2.0.0"]),
        (">= 1.2 < 2", ["1.5.0"], ["2.0.0"]),
        ("^1.2.3", ["1.2.3", "1.99.0"], ["1.2.2", "2.0.0"]),
        ("^0.2.3", ["0.2.9"], ["0.3.0"]),
        ("~1.2", ["1.2.0", "1.2.9"], ["1.3.0"]),
        ("1.4.1", ["1.4.1"], ["1.4.2"]),
        ("!=1.3.0", ["1.2.0"], ["1.3.0"]),
        ("*", ["0.0.1", "9.0.0"], []),
    ],
)
def test_ranges(spec: str, inside: list[str], outside: list[str]) -> None:
    r = parse_range(spec)
    assert all(r.contains(v) for v in inside)
    assert not any(r.contains(v) for v in outside)


def test_best_picks_the_highest_release_inside() -> None:
    assert parse_range("^1.0").best(["1.0.0", "1.4.0", "2.0.0", "1.5.0-rc.1"]) == "1.4.0"
    assert parse_range(">=3").best(["1.0.0"]) is None


@pytest.mark.parametrize("bad", ["about 1", ">>1.0.0", "1.x"])
def test_bad_ranges(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_range(bad)


def test_versions_are_strict() -> None:
    assert str(parse_version("1.2.3-rc.1+build")) == "1.2.3-rc.1+build"
    with pytest.raises(InvalidInput):
        parse_version("1.2")
