"""Small signed test plugins written in WAT, for the registry and lifecycle tests.

Every module speaks guest ABI v1. Entry points (present when their capability is requested):

- ``handle``: returns ``<tag>:`` followed by the input (no capability);
- ``remember`` / ``recall`` (``kv``): store the input under key ``last`` / return it;
- ``setting`` (``config``): the JSON value of config key ``greeting``;
- ``vectors_search`` / ``vectors_upsert`` / ``embed`` / ``agents_call`` (``vectors.read`` /
  ``vectors.write`` / ``embed`` / ``agents.call``): pass the input JSON to that host function
  and return its answer;
- ``wait`` (``kv`` + ``stream``): emits ``started``, then polls kv key ``go`` until it exists,
  then returns like ``handle`` (a call that stays in flight until the test lets it finish).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import wasmtime
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from abi.plugins.bundle import Bundle
from abi.plugins.manifest import parse_manifest
from abi.plugins.registry import PluginRegistry
from abi.plugins.signing import generate_key, public_key_id


def _imports(capabilities: set[str]) -> str:
    lines = []
    if "kv" in capabilities:
        lines += [
            '(import "abi_kv" "get" (func $kv_get (param i32 i32) (result i64)))',
            '(import "abi_kv" "set" (func $kv_set (param i32 i32 i32 i32) (result i32)))',
        ]
    if "config" in capabilities:
        lines.append('(import "abi_config" "get" (func $config_get (param i32 i32) (result i64)))')
    if "stream" in capabilities:
        lines.append('(import "abi_stream" "emit" (func $emit (param i32 i32) (result i32)))')
    for capability, module, function, _entry in _PROXIES:
        if capability in capabilities:
            lines.append(
                f'(import "{module}" "{function}" (func ${_entry} (param i32 i32) (result i64)))'
            )
    return "\n  ".join(lines)


_PROXIES = (
    ("vectors.read", "abi_vectors_read", "search", "vectors_search"),
    ("vectors.write", "abi_vectors_write", "upsert", "vectors_upsert"),
    ("embed", "abi_embed", "embed", "embed"),
    ("agents.call", "abi_agents_call", "call", "agents_call"),
)
"""Capabilities whose entry point passes the input JSON to one host function and returns
the host's answer: (capability, import module, function, entry point)."""


def _entries(capabilities: set[str]) -> tuple[list[str], str]:
    names = ["handle"]
    funcs = []
    for capability, _module, _function, entry in _PROXIES:
        if capability in capabilities:
            names.append(entry)
            funcs.append(
                f"""
  (func (export "{entry}") (param i32 i32) (result i64)
    (call ${entry} (local.get 0) (local.get 1)))"""
            )
    if "kv" in capabilities:
        names += ["remember", "recall"]
        funcs.append(
            """
  (func (export "remember") (param $ptr i32) (param $len i32) (result i64)
    (drop (call $kv_set (i32.const 0) (i32.const 4) (local.get $ptr) (local.get $len)))
    (i64.const 0))
  (func (export "recall") (param i32 i32) (result i64)
    (call $kv_get (i32.const 0) (i32.const 4)))"""
        )
    if "config" in capabilities:
        names.append("setting")
        funcs.append(
            """
  (func (export "setting") (param i32 i32) (result i64)
    (call $config_get (i32.const 32) (i32.const 8)))"""
        )
    if {"kv", "stream"} <= capabilities:
        names.append("wait")
        funcs.append(
            """
  (func (export "wait") (param $ptr i32) (param $len i32) (result i64)
    (drop (call $emit (i32.const 48) (i32.const 7)))
    (block $done
      (loop $poll
        (br_if $done (i64.eqz (i64.shr_u (call $kv_get (i32.const 8) (i32.const 2))
                                          (i64.const 63))))
        (br $poll)))
    (call $handle (local.get $ptr) (local.get $len)))"""
        )
    return names, "".join(funcs)


def plugin_wat(tag: str, capabilities: Iterable[str] = ()) -> str:
    """The WAT text of a test plugin whose ``handle`` answers ``<tag>:<input>``."""
    caps = set(capabilities)
    _names, funcs = _entries(caps)
    prefix = (tag + ":").encode()
    return f"""(module
  {_imports(caps)}
  (memory (export "memory") 2)
  (data (i32.const 0) "last")
  (data (i32.const 8) "go")
  (data (i32.const 32) "greeting")
  (data (i32.const 48) "started")
  (data (i32.const 64) "{prefix.decode()}")
  (global $heap (mut i32) (i32.const 4096))
  (func (export "abi_version") (result i32) (i32.const 1))
  (func $alloc (export "abi_alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (local.get $p))
  (func (export "abi_reset") (global.set $heap (i32.const 4096)))
  (func $handle (export "handle") (param $ptr i32) (param $len i32) (result i64)
    (local $out i32)
    (local.set $out (call $alloc (i32.add (local.get $len) (i32.const {len(prefix)}))))
    (memory.copy (local.get $out) (i32.const 64) (i32.const {len(prefix)}))
    (memory.copy (i32.add (local.get $out) (i32.const {len(prefix)}))
                 (local.get $ptr) (local.get $len))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
            (i64.extend_i32_u (i32.add (local.get $len) (i32.const {len(prefix)})))))
  {funcs}
)"""


def _toml_value(value: Any) -> str:
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }"
    return json.dumps(value)


def manifest_text(
    name: str,
    version: str,
    *,
    capabilities: Mapping[str, Mapping[str, Any]] | None = None,
    dependencies: Mapping[str, str] | None = None,
    config_schema: Mapping[str, Any] | None = None,
    description: str = "a test plugin",
    limits: Mapping[str, int] | None = None,
) -> str:
    """``plugin.toml`` text for a test plugin with the entry points its capabilities allow."""
    caps = dict(capabilities or {})
    entries, _funcs = _entries(set(caps))
    lines = [
        f'name = "{name}"',
        f'version = "{version}"',
        f"description = {json.dumps(description)}",
        f"entry_points = {json.dumps(entries)}",
    ]
    tables: tuple[tuple[str, Mapping[str, Any] | None], ...] = (
        ("capabilities", caps),
        ("limits", limits),
        ("config_schema", config_schema),
        ("dependencies", dependencies),
    )
    for table, values in tables:
        if values:
            lines.append(f"[{table}]")
            lines += [f"{json.dumps(key)} = {_toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def register_key(
    registry: PluginRegistry, tenant_id: str | None = None, name: str = "tests"
) -> Ed25519PrivateKey:
    """A new signing key registered as a publisher: platform-wide (its plugins are public) or,
    with ``tenant_id``, for that tenant only (private plugins)."""
    signing = generate_key()
    registry.add_publisher(public_key_id(signing), name, tenant_id=tenant_id)
    return signing


def make_bundle(
    name: str,
    version: str,
    key: Ed25519PrivateKey | None,
    *,
    tag: str | None = None,
    module: bytes | None = None,
    **manifest: Any,
) -> bytes:
    """A bundle file's bytes, signed with ``key`` (unsigned when ``key`` is None)."""
    text = manifest_text(name, version, **manifest).encode()
    parsed = parse_manifest(text)
    wasm = module
    if wasm is None:
        wasm = wasmtime.wat2wasm(plugin_wat(tag or version, parsed.capabilities))
    bundle = Bundle(parsed, text, bytes(wasm))
    return bundle.pack(key) if key is not None else bundle.to_bytes()


def write_folder(
    folder: Path, name: str, version: str, *, tag: str | None = None, **kw: Any
) -> Path:
    """A plugin folder (``plugin.toml`` + ``plugin.wasm``) like an author's, for dev mode."""
    folder.mkdir(parents=True, exist_ok=True)
    text = manifest_text(name, version, **kw)
    parsed = parse_manifest(text)
    (folder / "plugin.toml").write_text(text, encoding="utf-8")
    (folder / "plugin.wasm").write_bytes(
        wasmtime.wat2wasm(plugin_wat(tag or version, parsed.capabilities))
    )
    return folder
