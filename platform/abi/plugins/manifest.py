"""The plugin manifest (``plugin.toml``): identity, entry points, capabilities, limits, config
schema and dependencies. :func:`parse_manifest` refuses anything malformed with
``plugin.manifest_invalid`` and a message that names the bad key.

```toml
name = "sentiment"
version = "1.2.0"
description = "Lexicon-based sentiment score"
author = "Abi"
license = "Apache-2.0"
abi = 1
module = "plugin.wasm"
entry_points = ["handle", "score_batch"]

[capabilities]
log = {}
http = { allowed_hosts = ["api.example.com"] }

[limits]
fuel = 50_000_000
memory_mb = 32

[config_schema]
type = "object"
properties = { threshold = { type = "number" } }

[dependencies]
tokenizer = "^1.0"
```
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import jsonschema

from abi.config import PluginSettings
from abi.errors import InvalidInput
from abi.plugins.capabilities import check_parameters
from abi.plugins.errors import ConfigInvalid, ManifestInvalid
from abi.plugins.limits import Limits, limits_from_mapping
from abi.plugins.versions import parse_range, parse_version

ABI_VERSION = 1
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
ENTRY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
RESERVED_EXPORTS = frozenset(
    {"memory", "abi_version", "abi_alloc", "abi_reset", "abi_init", "abi_health", "abi_metrics"}
)
MODULE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\.wasm$")
_KEYS = frozenset(
    {
        "name",
        "version",
        "description",
        "author",
        "license",
        "abi",
        "module",
        "entry_points",
        "capabilities",
        "limits",
        "config_schema",
        "dependencies",
        "build",
    }
)
BUILD_KEYS = frozenset({"lang", "command"})
BUILD_LANGUAGES = ("zig", "c", "rust", "assemblyscript")
"""The languages ``abi plugin build`` knows (``[build] lang``)."""
MAX_MANIFEST_BYTES = 64 * 1024


def _frozen(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@dataclass(frozen=True)
class Manifest:
    """A validated plugin manifest. Build one with :func:`parse_manifest`."""

    name: str
    version: str
    description: str = ""
    author: str = ""
    license: str = ""
    abi: int = ABI_VERSION
    module: str = "plugin.wasm"
    entry_points: tuple[str, ...] = ("handle",)
    capabilities: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    config_schema: Mapping[str, Any] = field(default_factory=dict)
    dependencies: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """``name@version``."""
        return f"{self.name}@{self.version}"

    def effective_limits(self, ceilings: PluginSettings) -> Limits:
        """The manifest's limits clamped to the platform's ceilings."""
        return self.limits.clamp(ceilings)

    def validate_config(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Check tenant config values against ``config_schema``; ConfigInvalid names the key."""
        data = dict(values)
        if not self.config_schema:
            return data
        validator = jsonschema.Draft202012Validator(dict(self.config_schema))
        error = jsonschema.exceptions.best_match(validator.iter_errors(data))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
            raise ConfigInvalid(
                f"config for plugin {self.name!r} is invalid at {where}: {error.message}",
                key=where,
            )
        return data

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (for APIs and ``--json`` output)."""
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "author": self.author,
            "license": self.license,
            "abi": self.abi,
            "module": self.module,
            "entry_points": list(self.entry_points),
            "capabilities": {k: dict(v) for k, v in self.capabilities.items()},
            "limits": self.limits.to_dict(),
            "config_schema": dict(self.config_schema),
            "dependencies": dict(self.dependencies),
        }


def _bad(key: str, message: str) -> ManifestInvalid:
    return ManifestInvalid(f"plugin.toml: {key}: {message}", key=key)


def _string(data: Mapping[str, Any], key: str, *, required: bool = False, limit: int = 4096) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise _bad(key, "is required")
        return ""
    if not isinstance(value, str):
        raise _bad(key, "must be a string")
    if len(value) > limit:
        raise _bad(key, f"is longer than {limit} characters")
    return value


def _capabilities(raw: Any) -> dict[str, Mapping[str, Any]]:
    if isinstance(raw, list):
        if not all(isinstance(item, str) for item in raw):
            raise _bad("capabilities", "a list of capabilities must hold names only")
        raw = {item: {} for item in raw}
    if not isinstance(raw, Mapping):
        raise _bad("capabilities", "must be a table of capability = { parameters }")
    caps: dict[str, Mapping[str, Any]] = {}
    for name, params in raw.items():
        if not isinstance(params, Mapping):
            raise _bad(f"capabilities.{name}", "must be a table of parameters ({} for none)")
        problem = check_parameters(name, params)
        if problem is not None:
            raise _bad(f"capabilities.{name}", problem)
        caps[name] = _frozen(params)
    if "http" in caps and not caps["http"].get("allowed_hosts"):
        raise _bad("capabilities.http", "needs allowed_hosts (a non-empty list of host names)")
    return caps


def _entry_points(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ("handle",)
    if not isinstance(raw, list) or not raw:
        raise _bad("entry_points", "must be a non-empty list of export names")
    for name in raw:
        if not isinstance(name, str) or not ENTRY_RE.match(name):
            raise _bad("entry_points", f"{name!r} is not a valid export name")
        if name in RESERVED_EXPORTS:
            raise _bad("entry_points", f"{name!r} is reserved by the ABI")
    if len(set(raw)) != len(raw):
        raise _bad("entry_points", "names must be unique")
    return tuple(raw)


def _config_schema(raw: Any) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _bad("config_schema", "must be a table (a JSON Schema object)")
    try:
        jsonschema.Draft202012Validator.check_schema(dict(raw))
    except jsonschema.exceptions.SchemaError as exc:
        raise _bad("config_schema", f"is not a valid JSON Schema: {exc.message}") from exc
    return _frozen(raw)


def _dependencies(raw: Any, own_name: str) -> Mapping[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _bad("dependencies", 'must be a table of name = "version range"')
    deps: dict[str, str] = {}
    for name, spec in raw.items():
        if not NAME_RE.match(name):
            raise _bad(f"dependencies.{name}", "is not a valid plugin name")
        if name == own_name:
            raise _bad(f"dependencies.{name}", "a plugin cannot depend on itself")
        if not isinstance(spec, str):
            raise _bad(f"dependencies.{name}", "must be a version range string")
        try:
            parse_range(spec)
        except InvalidInput as exc:
            raise _bad(f"dependencies.{name}", exc.message) from exc
        deps[name] = spec
    return _frozen(deps)


def manifest_from_mapping(data: Mapping[str, Any]) -> Manifest:
    """Validate an already-parsed manifest table."""
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise _bad(unknown[0], f"unknown key (known: {', '.join(sorted(_KEYS))})")
    name = _string(data, "name", required=True, limit=64)
    if not NAME_RE.match(name):
        raise _bad("name", "must be lowercase letters, digits, '-' or '_', starting with a letter")
    version = _string(data, "version", required=True, limit=128)
    try:
        parse_version(version)
    except InvalidInput as exc:
        raise _bad("version", exc.message) from exc
    abi = data.get("abi", ABI_VERSION)
    if abi != ABI_VERSION or isinstance(abi, bool):
        raise _bad("abi", f"must be {ABI_VERSION} (this host speaks guest ABI v{ABI_VERSION})")
    module = data.get("module", "plugin.wasm")
    if not isinstance(module, str) or not MODULE_RE.match(module):
        raise _bad("module", "must be a file name ending in .wasm, without directories")
    limits_raw = data.get("limits", {})
    if not isinstance(limits_raw, Mapping):
        raise _bad("limits", "must be a table")
    limits, problem = limits_from_mapping(limits_raw)
    if problem is not None:
        key, _, message = problem.partition(": ")
        raise _bad(key, message)
    _check_build_table(data.get("build", {}))
    return Manifest(
        name=name,
        version=version,
        description=_string(data, "description"),
        author=_string(data, "author", limit=256),
        license=_string(data, "license", limit=128),
        abi=ABI_VERSION,
        module=module,
        entry_points=_entry_points(data.get("entry_points")),
        capabilities=_frozen(_capabilities(data.get("capabilities", {}))),
        limits=limits,
        config_schema=_config_schema(data.get("config_schema")),
        dependencies=_dependencies(data.get("dependencies"), name),
    )


def _check_build_table(table: Any) -> None:
    """``[build]`` is for ``abi plugin build``; the host does not use it but refuses a
    malformed one, so a mistake is caught by the build and the upload alike."""
    if not isinstance(table, Mapping):
        raise _bad("build", "must be a table with optional lang and command")
    unknown = sorted(set(table) - BUILD_KEYS)
    if unknown:
        raise _bad(f"build.{unknown[0]}", f"unknown key (known: {', '.join(sorted(BUILD_KEYS))})")
    lang = table.get("lang")
    if lang is not None and lang not in BUILD_LANGUAGES:
        raise _bad("build.lang", f"must be one of {', '.join(BUILD_LANGUAGES)}")
    command = table.get("command")
    if command is not None and (
        not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command)
    ):
        raise _bad("build.command", "must be a non-empty list of strings")


def parse_manifest(text: str | bytes) -> Manifest:
    """Parse and validate ``plugin.toml`` text; ManifestInvalid names the bad key."""
    if isinstance(text, bytes):
        if len(text) > MAX_MANIFEST_BYTES:
            raise _bad("(file)", f"is larger than {MAX_MANIFEST_BYTES} bytes")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _bad("(file)", "is not UTF-8") from exc
    if len(text) > MAX_MANIFEST_BYTES:
        raise _bad("(file)", f"is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _bad("(file)", f"is not valid TOML: {exc}") from exc
    return manifest_from_mapping(data)
