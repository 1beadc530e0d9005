"""The compile cache: hits after the first compile, and never deserializes a file it did not
write."""

from __future__ import annotations

from pathlib import Path

import wasmtime

from abi.plugins.cache import CompileCache
from abi.plugins.engine import get_engine
from abi.plugins.signing import sha256_hex

WAT = '(module (func (export "f") (result i32) i32.const 7))'


def _module() -> tuple[bytes, str]:
    wasm = bytes(wasmtime.wat2wasm(WAT))
    return wasm, sha256_hex(wasm)


def test_second_compile_comes_from_the_cache(tmp_path: Path) -> None:
    engine, _ = get_engine()
    wasm, digest = _module()
    cache = CompileCache(tmp_path)
    _, first = cache.compile(engine, wasm, digest)
    module, second = CompileCache(tmp_path).compile(engine, wasm, digest)
    assert (first, second) == (False, True)
    store = wasmtime.Store(engine)
    store.set_fuel(1000)
    store.set_epoch_deadline(1000)
    func = wasmtime.Instance(store, module, []).exports(store)["f"]
    assert isinstance(func, wasmtime.Func) and func(store) == 7


def test_a_planted_file_is_not_deserialized(tmp_path: Path) -> None:
    engine, _ = get_engine()
    wasm, digest = _module()
    cache = CompileCache(tmp_path)
    planted = bytes(wasmtime.Module(engine, wasm).serialize())
    cache.path_for(digest).write_bytes(b"\x00" * 32 + planted)
    assert cache.load(engine, digest) is None
    assert cache.stats.rejected == 1


def test_a_file_from_another_data_dir_is_not_deserialized(tmp_path: Path) -> None:
    engine, _ = get_engine()
    wasm, digest = _module()
    CompileCache(tmp_path / "a").compile(engine, wasm, digest)
    other = CompileCache(tmp_path / "b")
    other.path_for(digest).write_bytes(CompileCache(tmp_path / "a").path_for(digest).read_bytes())
    assert other.load(engine, digest) is None


def test_a_corrupted_file_is_recompiled(tmp_path: Path) -> None:
    engine, _ = get_engine()
    wasm, digest = _module()
    cache = CompileCache(tmp_path)
    cache.compile(engine, wasm, digest)
    path = cache.path_for(digest)
    path.write_bytes(path.read_bytes()[:-10])
    _, from_cache = cache.compile(engine, wasm, digest)
    assert from_cache is False and cache.stats.rejected == 1


def test_key_file_is_private(tmp_path: Path) -> None:
    CompileCache(tmp_path)
    assert (tmp_path / "cache.key").stat().st_mode & 0o777 == 0o600
