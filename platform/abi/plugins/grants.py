"""Grants: which requested capabilities a tenant allows, with parameters narrowed to at most
what the manifest asked for."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from abi.plugins.errors import GrantInvalid
from abi.plugins.manifest import Manifest

GrantSpec = Mapping[str, Mapping[str, Any]] | Iterable[str] | None


def _narrow(capability: str, asked: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    params = dict(asked)
    for key, value in given.items():
        if key not in asked:
            raise GrantInvalid(
                f"grant of {capability!r}: parameter {key!r} was not requested by the plugin"
            )
        requested = asked[key]
        if isinstance(requested, list):
            if not isinstance(value, list) or not set(value) <= set(requested):
                raise GrantInvalid(
                    f"grant of {capability!r}: {key} must be a subset of {requested}"
                )
        elif isinstance(requested, int) and (
            not isinstance(value, int) or value > requested or value <= 0
        ):
            raise GrantInvalid(f"grant of {capability!r}: {key} must be 1..{requested}")
        params[key] = value
    return params


def resolve_grants(manifest: Manifest, granted: GrantSpec) -> dict[str, dict[str, Any]]:
    """Capability -> effective parameters. ``None`` grants everything requested; names grant
    those capabilities with the manifest's parameters; a mapping may narrow parameters."""
    if granted is None:
        return {name: dict(params) for name, params in manifest.capabilities.items()}
    given: Mapping[str, Mapping[str, Any]] = (
        granted if isinstance(granted, Mapping) else {name: {} for name in granted}
    )
    result: dict[str, dict[str, Any]] = {}
    for name, params in given.items():
        if name not in manifest.capabilities:
            raise GrantInvalid(
                f"capability {name!r} is not requested by {manifest.name}; requested: "
                f"{', '.join(sorted(manifest.capabilities)) or 'none'}"
            )
        result[name] = _narrow(name, manifest.capabilities[name], params or {})
    return result
