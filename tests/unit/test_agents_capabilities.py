"""Capability flags: parsing, serialisation and the router's hard constraint."""

from __future__ import annotations

import pytest

from abi.agents.capabilities import (
    CAPABILITY_NAMES,
    Capability,
    capability_names,
    parse_capabilities,
    satisfies,
)
from abi.agents.spec import AgentSpec
from abi.errors import InvalidInput


def test_names_round_trip_through_flags() -> None:
    flags = parse_capabilities(["vector_search", "Text_Generation"])
    assert flags == Capability.VECTOR_SEARCH | Capability.TEXT_GENERATION
    assert capability_names(flags) == ["text_generation", "vector_search"]


def test_every_flag_has_a_distinct_bit_and_name() -> None:
    values = [member.value for member in Capability]
    assert len(set(values)) == len(values)
    assert all(v & (v - 1) == 0 for v in values)
    assert parse_capabilities(CAPABILITY_NAMES) == Capability(sum(values))


def test_unknown_name_is_an_error_that_lists_valid_names() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_capabilities(["reasoning", "telepathy"])
    assert caught.value.code == "agents.unknown_capability"
    assert "planning" in caught.value.message


def test_a_bare_string_is_refused() -> None:
    with pytest.raises(InvalidInput):
        parse_capabilities("reasoning")


def test_satisfies_needs_every_required_flag() -> None:
    have = Capability.REASONING | Capability.PLANNING
    assert satisfies(have, Capability.REASONING)
    assert satisfies(have, Capability(0))
    assert not satisfies(have, Capability.REASONING | Capability.STREAMING)


def test_agent_spec_normalises_and_checks_capabilities() -> None:
    spec = AgentSpec.model_validate(
        {"name": "a", "capabilities": ["planning", "reasoning", "planning"]}
    )
    assert spec.capabilities == ["reasoning", "planning"]
    with pytest.raises(InvalidInput):
        AgentSpec.model_validate({"name": "a", "capabilities": ["flying"]})
