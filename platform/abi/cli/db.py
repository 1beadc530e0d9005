"""``abi db create|upsert|search|stats|backup|restore|import``: WDBX on the local data
directory, without a server. ``--tenant`` takes a tenant name or id."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
import numpy as np

from abi.cli.common import data_dir_option, emit_json, handle_errors, open_platform
from abi.errors import AbiError, InvalidInput
from abi.vectors import VectorStore

P = ParamSpec("P")
R = TypeVar("R")


def tenant_option(func: Callable[P, R]) -> Callable[P, R]:
    return click.option("--tenant", required=True, help="Tenant name or id.")(func)


@contextmanager
def _opened(
    data_dir: Path | None, config_file: Path | None, tenant: str
) -> Iterator[tuple[VectorStore, str]]:
    platform = open_platform(data_dir, config_file)
    try:
        try:
            tenant_id = platform.tenants.get(tenant).id
        except AbiError:
            tenant_id = platform.tenants.by_name(tenant).id
        yield platform.vectors, tenant_id
    finally:
        platform.stop()


def _json_arg(raw: str | None, what: str) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc}") from exc


def _id_arg(raw: str | None) -> str | int | None:
    if raw is None:
        return None
    return int(raw) if raw.lstrip("-").isdigit() else raw


@click.group("db")
def db() -> None:
    """The vector database (WDBX) on local data."""


@db.command("create")
@click.argument("name")
@click.option("--dim", type=int, required=True, help="Vector dimension.")
@click.option("--metric", default="cosine", show_default=True, help="cosine, ip or l2.")
@click.option("--dtype", default="f16", show_default=True, help="f32, f16, bf16 or i8.")
@click.option("--index", "index_kind", default="hnsw", show_default=True, help="hnsw/flat/ivf.")
@click.option("--param", "params", multiple=True, help="Index parameter KEY=INT (repeatable).")
@click.option("--payload-index", "payload_indexes", multiple=True, help="Field to index.")
@tenant_option
@data_dir_option
@handle_errors
def create(
    *,
    name: str,
    dim: int,
    metric: str,
    dtype: str,
    index_kind: str,
    params: tuple[str, ...],
    payload_indexes: tuple[str, ...],
    tenant: str,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """Create collection NAME."""
    parsed: dict[str, Any] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not value.lstrip("-").isdigit():
            raise InvalidInput(f"--param takes KEY=INTEGER, got {item!r}")
        parsed[key] = int(value)
    with _opened(data_dir, config_file, tenant) as (store, tenant_id):
        info = store.create_collection(
            tenant_id,
            name,
            dim,
            metric=metric,
            dtype=dtype,
            index=index_kind,
            params=parsed,
            payload_indexes=list(payload_indexes),
        )
    emit_json(info)


@db.command("upsert")
@click.argument("collection")
@click.argument("vector")
@click.option("--id", "vid", default=None, help="Id (digits make an integer id).")
@click.option("--payload", default=None, help="Payload as a JSON object.")
@tenant_option
@data_dir_option
@handle_errors
def upsert(
    *,
    collection: str,
    vector: str,
    vid: str | None,
    payload: str | None,
    tenant: str,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """Insert or replace one VECTOR (a JSON list of numbers)."""
    vec = _json_arg(vector, "VECTOR")
    ids = None if vid is None else [_id_arg(vid)]
    with _opened(data_dir, config_file, tenant) as (store, tenant_id):
        done = store.upsert(
            tenant_id, collection, [vec], ids=ids, payloads=[_json_arg(payload, "--payload")]
        )
    emit_json({"ids": done})


@db.command("search")
@click.argument("collection")
@click.argument("vector")
@click.option("-k", "--k", "k", default=10, show_default=True, help="Neighbours to return.")
@click.option("--filter", "flt", default=None, help="Payload filter as JSON.")
@click.option("--ef", type=int, default=None, help="HNSW ef / IVF nprobe for this search.")
@click.option("--payloads", is_flag=True, help="Include payloads.")
@tenant_option
@data_dir_option
@handle_errors
def search(
    *,
    collection: str,
    vector: str,
    k: int,
    flt: str | None,
    ef: int | None,
    payloads: bool,
    tenant: str,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """The K nearest neighbours of VECTOR (a JSON list of numbers)."""
    with _opened(data_dir, config_file, tenant) as (store, tenant_id):
        hits = store.search(
            tenant_id,
            collection,
            _json_arg(vector, "VECTOR"),
            k=k,
            flt=_json_arg(flt, "--filter"),
            ef=ef,
            with_payloads=payloads,
        )
    emit_json({"hits": hits})


@db.command("stats")
@click.argument("collection", required=False)
@tenant_option
@data_dir_option
@handle_errors
def stats(
    collection: str | None, tenant: str, data_dir: Path | None, config_file: Path | None
) -> None:
    """Stats of COLLECTION, or of every collection of the tenant."""
    with _opened(data_dir, config_file, tenant) as (store, tenant_id):
        emit_json(store.stats(tenant_id, collection))


@db.command("backup")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--collection", "collections", multiple=True, help="Only these (repeatable).")
@tenant_option
@data_dir_option
@handle_errors
def backup(
    archive: Path,
    collections: tuple[str, ...],
    tenant: str,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """Write a verified tar ARCHIVE of the tenant's collections."""
    with _opened(data_dir, config_file, tenant) as (store, tenant_id):
        manifest = store.backup(tenant_id, archive, list(collections) or None)
    emit_json({"archive": str(archive), "collections": manifest["collections"]})


@db.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace collections that exist.")
@tenant_option
@data_dir_option
@handle_errors
def restore(
    archive: Path, overwrite: bool, tenant: str, data_dir: Path | None, config_file: Path | None
) -> None:
    """Restore ARCHIVE into the tenant (verified first; a damaged one changes nothing)."""
    with _opened(data_dir, config_file, tenant) as (store, tenant_id):
        emit_json({"restored": store.restore(tenant_id, archive, overwrite=overwrite)})


def _read_source(path: Path) -> tuple[np.ndarray, list[Any] | None, list[Any] | None]:
    """Vectors, ids and payloads from .npy (vectors only) or JSON lines
    (``{"vector": [...], "id": ..., "payload": {...}}`` per line)."""
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False), None, None
    vectors, ids, payloads = [], [], []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                vectors.append(row["vector"])
            except (ValueError, KeyError, TypeError) as exc:
                raise InvalidInput(f"{path}:{number}: needs a JSON object with 'vector'") from exc
            ids.append(row.get("id"))
            payloads.append(row.get("payload"))
    has_ids = any(i is not None for i in ids)
    return np.asarray(vectors, dtype=np.float32), ids if has_ids else None, payloads


@db.command("import")
@click.argument("collection")
@click.argument("source", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--batch", default=1000, show_default=True, help="Vectors per write.")
@click.option("--ids-from-row", is_flag=True, help="Use the row number as the integer id.")
@tenant_option
@data_dir_option
@handle_errors
def import_(
    *,
    collection: str,
    source: Path,
    batch: int,
    ids_from_row: bool,
    tenant: str,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """Import SOURCE (.npy matrix or JSON lines) into COLLECTION, in batches."""
    from tqdm import tqdm

    vectors, ids, payloads = _read_source(source)
    if ids_from_row:
        ids = list(range(len(vectors)))
    with _opened(data_dir, config_file, tenant) as (store, tenant_id):
        batch = max(1, min(batch, store.vsettings.max_batch))
        with tqdm(total=len(vectors), unit="vec", desc=collection) as bar:
            for start in range(0, len(vectors), batch):
                stop = start + batch
                store.upsert(
                    tenant_id,
                    collection,
                    vectors[start:stop],
                    ids=None if ids is None else ids[start:stop],
                    payloads=None if payloads is None else payloads[start:stop],
                )
                bar.update(len(vectors[start:stop]))
        count = store.count(tenant_id, collection)
    emit_json({"imported": len(vectors), "count": count})
