"""The capability catalog of guest ABI v1: names, import modules, host function signatures
and the parameters each capability accepts in a manifest (plugin-sdk/ABI.md §3).

This is data only; the implementations live in :mod:`abi.plugins.host`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ValKind = Literal["i32", "i64"]


@dataclass(frozen=True)
class HostSignature:
    """One host function: its import name, parameter and result kinds."""

    name: str
    params: tuple[ValKind, ...]
    results: tuple[ValKind, ...]


@dataclass(frozen=True)
class CapabilitySpec:
    """A capability: the import module its functions live in and the parameters it takes."""

    name: str
    module: str
    functions: tuple[HostSignature, ...]
    parameters: Mapping[str, type]

    def function(self, name: str) -> HostSignature | None:
        """The host function ``name`` of this capability, or None."""
        return next((f for f in self.functions if f.name == name), None)


def _sig(name: str, params: str, results: str = "") -> HostSignature:
    kinds: dict[str, ValKind] = {"i": "i32", "I": "i64"}
    return HostSignature(name, tuple(kinds[c] for c in params), tuple(kinds[c] for c in results))


_REQ = "ii"  # (ptr, len) of a JSON request
CATALOG: dict[str, CapabilitySpec] = {
    spec.name: spec
    for spec in (
        CapabilitySpec("log", "abi_log", (_sig("write", "iii"),), {}),
        CapabilitySpec("config", "abi_config", (_sig("get", "ii", "I"),), {}),
        CapabilitySpec(
            "kv",
            "abi_kv",
            (_sig("get", "ii", "I"), _sig("set", "iiii", "i"), _sig("delete", "ii", "i")),
            {},
        ),
        CapabilitySpec("stream", "abi_stream", (_sig("emit", "ii", "i"),), {}),
        CapabilitySpec(
            "clock", "abi_clock", (_sig("now_ms", "", "I"), _sig("monotonic_ns", "", "I")), {}
        ),
        CapabilitySpec("random", "abi_random", (_sig("fill", "ii", "i"),), {}),
        CapabilitySpec(
            "http",
            "abi_http",
            (_sig("request", _REQ, "I"),),
            {"allowed_hosts": list, "max_response_bytes": int, "timeout_ms": int},
        ),
        CapabilitySpec(
            "vectors.read",
            "abi_vectors_read",
            (_sig("search", _REQ, "I"), _sig("get", _REQ, "I")),
            {"collections": list},
        ),
        CapabilitySpec(
            "vectors.write",
            "abi_vectors_write",
            (_sig("upsert", _REQ, "I"), _sig("delete", _REQ, "I")),
            {"collections": list},
        ),
        CapabilitySpec("embed", "abi_embed", (_sig("embed", _REQ, "I"),), {"models": list}),
        CapabilitySpec(
            "neural.infer", "abi_neural_infer", (_sig("infer", _REQ, "I"),), {"models": list}
        ),
        CapabilitySpec(
            "agents.call", "abi_agents_call", (_sig("call", _REQ, "I"),), {"agents": list}
        ),
    )
}
"""Capability name -> spec, for every capability ABI v1 defines."""

BY_MODULE: dict[str, CapabilitySpec] = {spec.module: spec for spec in CATALOG.values()}
"""Import module name -> capability spec."""


def check_parameters(name: str, params: Mapping[str, Any]) -> str | None:
    """``None`` when ``params`` are valid for capability ``name``, else what is wrong."""
    spec = CATALOG.get(name)
    if spec is None:
        return f"unknown capability {name!r} (known: {', '.join(sorted(CATALOG))})"
    for key, value in params.items():
        expected = spec.parameters.get(key)
        if expected is None:
            allowed = ", ".join(sorted(spec.parameters)) or "none"
            return f"capability {name!r} has no parameter {key!r} (allowed: {allowed})"
        if not isinstance(value, expected) or isinstance(value, bool):
            return f"capability {name!r} parameter {key!r} must be a {expected.__name__}"
        if isinstance(value, list) and not all(isinstance(i, str) and i for i in value):
            return f"capability {name!r} parameter {key!r} must be a list of non-empty strings"
        if isinstance(value, int) and value <= 0:
            return f"capability {name!r} parameter {key!r} must be positive"
    return None
