"""Module validation and compilation: size cap, valid Wasm, required exports with the right
signatures, and every import covered by a capability the manifest requests."""

from __future__ import annotations

from dataclasses import dataclass

import wasmtime

from abi.plugins.cache import CompileCache
from abi.plugins.capabilities import BY_MODULE, HostSignature
from abi.plugins.errors import ImportNotRequested, ModuleInvalid, ModuleTooLarge
from abi.plugins.manifest import Manifest
from abi.plugins.signing import sha256_hex
from abi.plugins.traps import instantiation_error

WASM_MAGIC = b"\0asm"
HANDLER = (("i32", "i32"), ("i64",))
OPTIONAL_EXPORTS = {
    "abi_reset": ((), ()),
    "abi_init": HANDLER,
    "abi_health": ((), ("i64",)),
    "abi_metrics": ((), ("i64",)),
}
REQUIRED_FUNCS = {"abi_version": ((), ("i32",)), "abi_alloc": (("i32",), ("i32",))}


@dataclass(frozen=True)
class CompiledModule:
    """A validated, compiled module and what the loader learned about it."""

    manifest: Manifest
    sha256: str
    module: wasmtime.Module
    optional: frozenset[str]
    """Which optional lifecycle exports (abi_reset, abi_init, ...) the module has."""
    from_cache: bool


def _sig(ty: wasmtime.FuncType) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(str(p) for p in ty.params), tuple(str(r) for r in ty.results)


def _describe(sig: tuple[tuple[str, ...], tuple[str, ...]]) -> str:
    return f"({', '.join(sig[0])}) -> ({', '.join(sig[1])})"


def check_imports(manifest: Manifest, module: wasmtime.Module) -> frozenset[str]:
    """The capabilities the module imports from; refuses unrequested or unknown imports."""
    used: set[str] = set()
    for imp in module.imports:
        spec = BY_MODULE.get(imp.module)
        if spec is None or spec.name not in manifest.capabilities:
            what = f"capability {spec.name!r}" if spec else "no capability of ABI v1"
            raise ImportNotRequested(
                f"the module imports {imp.module}.{imp.name}, which is {what}; "
                "request the capability in plugin.toml [capabilities] or remove the import",
                module=imp.module,
                name=imp.name,
            )
        expected: HostSignature | None = spec.function(imp.name or "")
        if expected is None or not isinstance(imp.type, wasmtime.FuncType):
            raise ModuleInvalid(f"{imp.module} has no function {imp.name!r} in ABI v1")
        if _sig(imp.type) != (expected.params, expected.results):
            raise ModuleInvalid(
                f"import {imp.module}.{imp.name} has type {_describe(_sig(imp.type))}; ABI v1 "
                f"says {_describe((expected.params, expected.results))}"
            )
        used.add(spec.name)
    return frozenset(used)


def check_exports(manifest: Manifest, module: wasmtime.Module) -> frozenset[str]:
    """Required exports present with the right types; returns the optional ones found."""
    wanted_names = {"memory", *REQUIRED_FUNCS, *OPTIONAL_EXPORTS, *manifest.entry_points}
    exports = {exp.name: exp.type for exp in module.exports if exp.name in wanted_names}
    memory = exports.get("memory")
    if not isinstance(memory, wasmtime.MemoryType):
        raise ModuleInvalid("the module must export its linear memory as 'memory'")
    if memory.is_64 or memory.is_shared:
        raise ModuleInvalid("'memory' must be a 32-bit, unshared memory")
    wanted: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = dict(REQUIRED_FUNCS)
    wanted.update({name: HANDLER for name in manifest.entry_points})
    for name, sig in wanted.items():
        ty = exports.get(name)
        if not isinstance(ty, wasmtime.FuncType):
            raise ModuleInvalid(f"the module must export function {name!r} {_describe(sig)}")
        if _sig(ty) != sig:
            raise ModuleInvalid(f"export {name!r} must have type {_describe(sig)}")
    found = set()
    for name, sig in OPTIONAL_EXPORTS.items():
        ty = exports.get(name)
        if ty is None:
            continue
        if not isinstance(ty, wasmtime.FuncType) or _sig(ty) != sig:
            raise ModuleInvalid(f"export {name!r} must have type {_describe(sig)}")
        found.add(name)
    return frozenset(found)


def compile_module(
    engine: wasmtime.Engine,
    cache: CompileCache | None,
    manifest: Manifest,
    wasm: bytes,
    *,
    max_module_bytes: int,
) -> CompiledModule:
    """Validate and compile ``wasm`` for ``manifest`` (from the compile cache when there)."""
    if len(wasm) > max_module_bytes:
        raise ModuleTooLarge(f"the module is {len(wasm)} bytes; the limit is {max_module_bytes}")
    if not wasm.startswith(WASM_MAGIC):
        raise ModuleInvalid("not a WebAssembly module (no \\0asm header)")
    digest = sha256_hex(wasm)
    try:
        if cache is None:
            module, from_cache = wasmtime.Module(engine, wasm), False
        else:
            module, from_cache = cache.compile(engine, wasm, digest)
    except wasmtime.WasmtimeError as exc:
        detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        if "pooling allocator" in detail:  # valid Wasm, but over the instance slot size
            raise instantiation_error(detail, None) from exc
        raise ModuleInvalid(f"not a valid WebAssembly module: {detail or 'invalid'}") from exc
    check_imports(manifest, module)
    return CompiledModule(manifest, digest, module, check_exports(manifest, module), from_cache)
