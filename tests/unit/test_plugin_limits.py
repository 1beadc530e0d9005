"""Limits: manifest values clamped to the platform's ceilings; grants narrow parameters."""

from __future__ import annotations

import pytest

from abi.config import PluginSettings
from abi.errors import InvalidInput
from abi.plugins.grants import resolve_grants
from abi.plugins.limits import MIB, Limits, limits_from_mapping
from abi.plugins.manifest import parse_manifest


def test_limits_above_the_ceilings_are_clamped() -> None:
    ceilings = PluginSettings(
        max_fuel=1000,
        max_wall_seconds=0.5,
        max_memory_bytes=8 * MIB,
        max_output_bytes=100,
        max_host_calls=3,
        max_table_elements=50,
    )
    clamped = Limits(fuel=10**9, wall_ms=60_000, memory_mb=512, tables=10**6).clamp(ceilings)
    assert clamped == Limits(
        fuel=1000, wall_ms=500, memory_mb=8, tables=50, output_bytes=100, host_calls=3
    )


def test_limits_below_the_ceilings_are_kept() -> None:
    limits = Limits(fuel=10, wall_ms=20, memory_mb=2, tables=3, output_bytes=4, host_calls=0)
    assert limits.clamp(PluginSettings()) == limits


@pytest.mark.parametrize(
    ("values", "problem"),
    [({"fuel": -1}, "limits.fuel"), ({"fuel": True}, "limits.fuel"), ({"x": 1}, "limits.x")],
)
def test_bad_limits(values: dict[str, object], problem: str) -> None:
    _, message = limits_from_mapping(values)
    assert message is not None and message.startswith(problem)


MANIFEST = parse_manifest(
    """
name = "g"
version = "1.0.0"
[capabilities]
log = {}
http = { allowed_hosts = ["a.example", "b.example"], max_response_bytes = 1000 }
"""
)


def test_no_grant_spec_grants_everything_requested() -> None:
    grants = resolve_grants(MANIFEST, None)
    assert set(grants) == {"log", "http"}
    assert grants["http"]["allowed_hosts"] == ["a.example", "b.example"]


def test_names_grant_with_the_manifest_parameters() -> None:
    assert resolve_grants(MANIFEST, ["log"]) == {"log": {}}


def test_grant_may_narrow_parameters() -> None:
    grants = resolve_grants(
        MANIFEST, {"http": {"allowed_hosts": ["b.example"], "max_response_bytes": 10}}
    )
    assert grants["http"] == {"allowed_hosts": ["b.example"], "max_response_bytes": 10}


@pytest.mark.parametrize(
    "spec",
    [
        ["kv"],
        {"http": {"allowed_hosts": ["evil.example"]}},
        {"http": {"max_response_bytes": 5000}},
        {"http": {"timeout_ms": 5}},
    ],
)
def test_grants_cannot_widen(spec: object) -> None:
    with pytest.raises(InvalidInput) as info:
        resolve_grants(MANIFEST, spec)  # type: ignore[arg-type]
    assert info.value.code == "plugin.grant_invalid"
