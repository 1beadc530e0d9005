"""Agent capabilities: named flags, serialised as a list of names.

A capability says what an agent can do (``text_generation``, ``vector_search``, ...). The
router treats the capabilities a request requires as a hard constraint: an agent is a
candidate only when it has every one of them. Unknown names are errors, never ignored.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from abi.errors import InvalidInput


class Capability(enum.Flag):
    """What an agent can do; combine with ``|``, test with ``in`` or ``&``."""

    TEXT_GENERATION = enum.auto()
    CODE_GENERATION = enum.auto()
    MEMORY_MANAGEMENT = enum.auto()
    LEARNING = enum.auto()
    REASONING = enum.auto()
    PLANNING = enum.auto()
    VECTOR_SEARCH = enum.auto()
    FUNCTION_CALLING = enum.auto()
    STREAMING = enum.auto()
    BATCH_PROCESSING = enum.auto()
    CUSTOM_OPERATIONS = enum.auto()
    SUMMARIZATION = enum.auto()
    TRANSLATION = enum.auto()
    CLASSIFICATION = enum.auto()
    DATA_ANALYSIS = enum.auto()
    WORKFLOW_ORCHESTRATION = enum.auto()


NONE = Capability(0)
CAPABILITY_NAMES: tuple[str, ...] = tuple(
    member.name.lower() for member in Capability if member.name is not None
)
"""Every capability's wire name, in declaration order."""


def parse_capabilities(names: Iterable[str]) -> Capability:
    """The flags named in ``names`` (case-insensitive); an unknown name is an InvalidInput
    that lists the valid ones."""
    if isinstance(names, str):
        raise InvalidInput(
            "capabilities must be a list of names, not one string",
            code="agents.invalid_capabilities",
        )
    flags = NONE
    for raw in names:
        if not isinstance(raw, str):
            raise InvalidInput(
                f"capability {raw!r} is not a name", code="agents.invalid_capabilities"
            )
        key = raw.strip().upper()
        try:
            flags |= Capability[key]
        except KeyError:
            raise InvalidInput(
                f"unknown capability {raw!r}; valid names: {', '.join(CAPABILITY_NAMES)}",
                code="agents.unknown_capability",
                capability=raw,
            ) from None
    return flags


def capability_names(flags: Capability) -> list[str]:
    """The wire names of the flags set in ``flags``, in declaration order."""
    return [
        member.name.lower() for member in Capability if member.name is not None and member in flags
    ]


def satisfies(flags: Capability, required: Capability) -> bool:
    """True when ``flags`` has every capability in ``required``."""
    return (flags & required) == required
