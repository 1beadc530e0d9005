"""WDBX over REST: collections, vectors, search, stats, backup and restore of the caller's
tenant. Reads need ``vectors:read``, writes ``vectors:write``; every call is scoped to the
caller's tenant, so another tenant's collections do not exist here."""

from __future__ import annotations

import asyncio
import json
import math
import tempfile
import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from quart import Blueprint, Response, request
from quart_schema import validate_querystring, validate_request

from abi.errors import InvalidInput
from abi.server.auth import current_principal, require_scope
from abi.server.context import current_platform
from abi.vectors import VectorStore
from abi.vectors.errors import FilterInvalid, VectorNotFound

blueprint = Blueprint("vectors", __name__, url_prefix="/api/v1/database")

VectorId = str | int


class CollectionCreate(BaseModel):
    name: str = Field(description="1-63 lowercase letters, digits, '_' or '-'.")
    dimension: int = Field(ge=1)
    metric: str = Field("cosine", description="cosine, ip or l2.")
    dtype: str = Field("f16", description="Storage type: f32, f16, bf16 or i8 (hnsw only).")
    index: str = Field("hnsw", description="hnsw, flat or ivf.")
    params: dict[str, int] = Field(default_factory=dict, description="Index parameters.")
    payload_indexes: list[str] = Field(default_factory=list, description="Fields to index.")


class VectorIn(BaseModel):
    id: VectorId | None = Field(None, description="Caller-chosen id; generated when absent.")
    vector: list[float]
    payload: dict[str, Any] | None = None


class UpsertBody(BaseModel):
    collection: str
    vectors: list[VectorIn] = Field(min_length=1)


class UpdateBody(BaseModel):
    collection: str
    vector: list[float] | None = None
    payload: dict[str, Any] | None = None
    merge: bool = Field(False, description="Add the payload's keys instead of replacing it.")


class DeleteBody(BaseModel):
    collection: str
    ids: list[VectorId] | None = None
    filter: dict[str, Any] | None = None


class SearchBody(BaseModel):
    collection: str
    vector: list[float] | None = Field(None, description="One query, or use 'vectors'.")
    vectors: list[list[float]] | None = Field(None, description="A batch of queries.")
    k: int = Field(10, ge=1, le=10_000)
    filter: dict[str, Any] | None = None
    ef: int | None = Field(None, ge=1, description="HNSW ef or IVF nprobe for this search.")
    with_vectors: bool = False
    with_payloads: bool = False
    columns: bool = Field(
        False,
        description="With 'vectors': answer {'ids': [[...]], 'scores': [[...]]}, one row per "
        "query (null past the hits found) instead of a list of hit objects per query.",
    )


class SearchQuery(BaseModel):
    collection: str
    vector: str = Field(description="Comma-separated numbers.")
    k: int = Field(10, ge=1, le=10_000)
    filter: str | None = Field(None, description="A filter as JSON.")
    ef: int | None = Field(None, ge=1)
    with_vectors: bool = False
    with_payloads: bool = False


class CollectionQuery(BaseModel):
    collection: str


class ListQuery(BaseModel):
    offset: int = Field(0, ge=0)
    limit: int = Field(100, ge=1, le=10_000)
    with_vectors: bool = False


class StatsQuery(BaseModel):
    collection: str | None = None


class BackupBody(BaseModel):
    collections: list[str] | None = None


class RestoreQuery(BaseModel):
    overwrite: bool = False


def _store() -> VectorStore:
    store: VectorStore = current_platform().vectors
    return store


def _tenant() -> str:
    return current_principal().tenant_id


async def _call(method: str, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(getattr(_store(), method), _tenant(), *args, **kwargs)


def _resolve_id(store: VectorStore, tenant_id: str, collection: str, raw: str) -> VectorId:
    """A path id: the string when the collection has it, else the integer it spells."""
    ids = store.collection(tenant_id, collection).ids
    if raw in ids:
        return raw
    try:
        number = int(raw)
    except ValueError:
        return raw
    return number if number in ids else raw


async def _path_id(collection: str, raw: str) -> VectorId:
    return await asyncio.to_thread(_resolve_id, _store(), _tenant(), collection, raw)


# -- collections ---------------------------------------------------------------------


@blueprint.post("/collections")
@require_scope("vectors:write")
@validate_request(CollectionCreate)
async def create_collection(data: CollectionCreate) -> tuple[dict[str, Any], int]:
    """Create a collection in the caller's tenant."""
    info = await _call(
        "create_collection",
        data.name,
        data.dimension,
        metric=data.metric,
        dtype=data.dtype,
        index=data.index,
        params=data.params,
        payload_indexes=data.payload_indexes,
    )
    return info, 201


@blueprint.get("/collections")
@require_scope("vectors:read")
async def list_collections() -> dict[str, Any]:
    """The caller's collections with their definitions and sizes."""
    return {"collections": await _call("list_collections")}


@blueprint.get("/collections/<name>")
@require_scope("vectors:read")
async def get_collection(name: str) -> dict[str, Any]:
    """One collection's definition and size."""
    info: dict[str, Any] = await _call("describe_collection", name)
    return info


@blueprint.delete("/collections/<name>")
@require_scope("vectors:write")
async def delete_collection(name: str) -> tuple[str, int]:
    """Delete a collection and all its vectors."""
    await _call("drop_collection", name)
    return "", 204


@blueprint.get("/collections/<name>/vectors")
@require_scope("vectors:read")
@validate_querystring(ListQuery)
async def list_vectors(name: str, query_args: ListQuery) -> dict[str, Any]:
    """A page of vectors (insertion order) with payloads."""
    items = await _call(
        "list_vectors",
        name,
        offset=query_args.offset,
        limit=query_args.limit,
        with_vectors=query_args.with_vectors,
    )
    return {"vectors": items, "offset": query_args.offset}


# -- vectors -------------------------------------------------------------------------


@blueprint.post("/vectors")
@require_scope("vectors:write")
@validate_request(UpsertBody)
async def upsert(data: UpsertBody) -> dict[str, Any]:
    """Insert or replace vectors; the reply comes after they are in the write-ahead log."""
    ids = [v.id if v.id is not None else uuid.uuid4().hex for v in data.vectors]
    ids = await _call(
        "upsert",
        data.collection,
        [v.vector for v in data.vectors],
        ids=ids,
        payloads=[v.payload for v in data.vectors],
    )
    return {"ids": ids, "count": len(ids)}


@blueprint.get("/vectors/<vid>")
@require_scope("vectors:read")
@validate_querystring(CollectionQuery)
async def get_vector(vid: str, query_args: CollectionQuery) -> dict[str, Any]:
    """One vector with its payload."""
    resolved = await _path_id(query_args.collection, vid)
    found: dict[str, Any] = await _call("get", query_args.collection, resolved)
    return found


@blueprint.put("/vectors/<vid>")
@require_scope("vectors:write")
@validate_request(UpdateBody)
async def update_vector(vid: str, data: UpdateBody) -> dict[str, Any]:
    """Replace a vector and/or its payload (``merge`` adds keys to the payload)."""
    resolved = await _path_id(data.collection, vid)
    await _call(
        "update",
        data.collection,
        resolved,
        vector=data.vector,
        payload=data.payload,
        merge=data.merge,
    )
    return {"id": resolved, "updated": True}


@blueprint.delete("/vectors/<vid>")
@require_scope("vectors:write")
@validate_querystring(CollectionQuery)
async def delete_vector(vid: str, query_args: CollectionQuery) -> tuple[str, int]:
    """Delete one vector."""
    resolved = await _path_id(query_args.collection, vid)
    if not await _call("delete", query_args.collection, [resolved]):
        raise VectorNotFound(f"vector {vid!r} does not exist in {query_args.collection!r}")
    return "", 204


@blueprint.post("/vectors/delete")
@require_scope("vectors:write")
@validate_request(DeleteBody)
async def delete_many(data: DeleteBody) -> dict[str, int]:
    """Delete vectors by ids or by a payload filter (exactly one of the two)."""
    if (data.ids is None) == (data.filter is None):
        raise InvalidInput("give either 'ids' or 'filter'", code="vectors.invalid_input")
    if data.ids is not None:
        return {"deleted": await _call("delete", data.collection, data.ids)}
    return {"deleted": await _call("delete_where", data.collection, data.filter)}


# -- search --------------------------------------------------------------------------


def _parse_vector(raw: str) -> list[float]:
    try:
        return [float(x) for x in raw.split(",") if x.strip()]
    except ValueError as exc:
        raise InvalidInput(
            "vector must be comma-separated numbers", code="vectors.invalid_input"
        ) from exc


def _parse_filter(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise FilterInvalid(f"filter is not valid JSON: {exc}") from exc


@blueprint.get("/search")
@require_scope("vectors:read")
@validate_querystring(SearchQuery)
async def search_get(query_args: SearchQuery) -> dict[str, Any]:
    """k nearest neighbours of one query given in the query string."""
    hits = await _call(
        "search",
        query_args.collection,
        _parse_vector(query_args.vector),
        k=query_args.k,
        flt=_parse_filter(query_args.filter),
        ef=query_args.ef,
        with_vectors=query_args.with_vectors,
        with_payloads=query_args.with_payloads,
    )
    return {"hits": hits}


@blueprint.post("/search")
@require_scope("vectors:read")
@validate_request(SearchBody)
async def search_post(data: SearchBody) -> dict[str, Any]:
    """k nearest neighbours of one query ('vector': hits) or a batch ('vectors': results)."""
    if (data.vector is None) == (data.vectors is None):
        raise InvalidInput("give either 'vector' or 'vectors'", code="vectors.invalid_input")
    options = {
        "k": data.k,
        "flt": data.filter,
        "ef": data.ef,
        "with_vectors": data.with_vectors,
        "with_payloads": data.with_payloads,
    }
    if data.columns:
        if data.vectors is None or data.with_vectors or data.with_payloads:
            raise InvalidInput(
                "'columns' answers a batch ('vectors') with ids and scores only; drop "
                "'with_vectors' / 'with_payloads' or 'columns'",
                code="vectors.invalid_input",
            )
        found = await _call(
            "search_columns", data.collection, data.vectors, k=data.k, flt=data.filter, ef=data.ef
        )
        scores = [[None if math.isnan(x) else x for x in row] for row in found.scores.tolist()]
        return {"ids": found.ids.tolist(), "scores": scores}
    if data.vector is not None:
        return {"hits": await _call("search", data.collection, data.vector, **options)}
    return {"results": await _call("search_batch", data.collection, data.vectors, **options)}


@blueprint.get("/stats")
@require_scope("vectors:read")
@validate_querystring(StatsQuery)
async def stats(query_args: StatsQuery) -> dict[str, Any]:
    """Counts, memory and disk use, index parameters, counters and latency percentiles."""
    found: dict[str, Any] = await _call("stats", query_args.collection)
    return found


# -- backup --------------------------------------------------------------------------


@blueprint.post("/backup")
@require_scope("vectors:read")
@validate_request(BackupBody)
async def backup(data: BackupBody) -> Response:
    """A tar archive (manifest + sha256 checksums) of some or all collections."""
    with tempfile.TemporaryDirectory(prefix="wdbx-backup-") as tmp:
        target = Path(tmp) / "backup.tar"
        await _call("backup", target, data.collections)
        payload = await asyncio.to_thread(target.read_bytes)
    return Response(
        payload,
        mimetype="application/x-tar",
        headers={"Content-Disposition": 'attachment; filename="wdbx-backup.tar"'},
    )


@blueprint.post("/restore")
@require_scope("vectors:write")
@validate_querystring(RestoreQuery)
async def restore(query_args: RestoreQuery) -> dict[str, Any]:
    """Restore an archive sent as the request body; a damaged one changes nothing."""
    raw = await request.get_data(cache=False)
    body = raw.encode() if isinstance(raw, str) else raw
    with tempfile.TemporaryDirectory(prefix="wdbx-restore-") as tmp:
        archive = Path(tmp) / "upload.tar"
        await asyncio.to_thread(archive.write_bytes, body)
        names = await _call("restore", archive, overwrite=query_args.overwrite)
    return {"restored": names}
