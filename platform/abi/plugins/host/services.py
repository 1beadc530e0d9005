"""``vectors.read``, ``vectors.write``, ``embed``, ``neural.infer`` and ``agents.call``: thin
JSON adapters onto the providers in :class:`~abi.plugins.host.base.HostServices`. Names
(collections, agents) must be listed in the grant; models are open unless the grant lists
them."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from abi.errors import AbiError
from abi.plugins.errors import PluginCallError
from abi.plugins.host.base import (
    GuestCall,
    HostCapability,
    HostFailure,
    HostImpl,
    allowed_name,
    give_json,
    read_json,
    require_object,
    service,
)


def _list(req: dict[str, Any], key: str) -> list[Any]:
    value = req.get(key)
    if not isinstance(value, list):
        raise HostFailure("bad_argument", f"{key!r} must be a list")
    return value


_WORKERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="abi-host-service")


def _call_service(call: GuestCall, fn: Any, *args: Any) -> Any:
    """Run a provider call in a worker thread and wait at most the host function's time
    bound: epochs cannot interrupt Python, so this is what bounds a slow provider. On
    timeout the guest call ends (``plugin.timeout``); the provider call finishes unobserved."""
    context = contextvars.copy_context()  # the guest call's trace and tenant follow it
    future = _WORKERS.submit(context.run, fn, *args)
    try:
        return future.result(timeout=call.time_left())
    except FutureTimeout as exc:
        future.cancel()
        raise PluginCallError(
            f"{getattr(fn, '__qualname__', 'a host service')} passed its time bound",
            code="plugin.timeout",
        ) from exc
    except AbiError as exc:
        raise HostFailure(exc.code, exc.message) from exc


def search(call: GuestCall, ptr: int, length: int) -> int:
    """``abi_vectors_read.search``: ``{collection, vector, k, filter}`` -> ``{hits}``."""
    req = require_object(read_json(call, ptr, length), "collection", "vector")
    name = allowed_name(call, "vectors.read", "collections", req["collection"])
    k = req.get("k", 10)
    if not isinstance(k, int) or not 1 <= k <= 1000:
        raise HostFailure("bad_argument", "'k' must be an integer 1..1000")
    vectors = service(call.context.services.vectors, "vector")
    hits = _call_service(
        call,
        vectors.search,
        call.context.tenant_id,
        name,
        _list(req, "vector"),
        k,
        req.get("filter"),
    )
    return give_json(call, {"hits": hits})


def _collection_op(capability: str, method: str, list_key: str, result_key: str) -> HostImpl:
    """A host function ``{"collection", <list_key>: [...]}`` -> ``{<result_key>: ...}`` that
    calls ``VectorService.<method>`` on a collection named in the grant."""

    def impl(call: GuestCall, ptr: int, length: int) -> int:
        req = require_object(read_json(call, ptr, length), "collection", list_key)
        name = allowed_name(call, capability, "collections", req["collection"])
        vectors = service(call.context.services.vectors, "vector")
        value = _call_service(
            call, getattr(vectors, method), call.context.tenant_id, name, _list(req, list_key)
        )
        return give_json(call, {result_key: value})

    return impl


get = _collection_op("vectors.read", "get", "ids", "items")
upsert = _collection_op("vectors.write", "upsert", "items", "upserted")
delete = _collection_op("vectors.write", "delete", "ids", "deleted")


def embed(call: GuestCall, ptr: int, length: int) -> int:
    """``abi_embed.embed``: ``{texts, model}`` -> ``{vectors, dim}``."""
    req = require_object(read_json(call, ptr, length), "texts")
    texts = _list(req, "texts")
    if not all(isinstance(t, str) for t in texts):
        raise HostFailure("bad_argument", "'texts' must be a list of strings")
    model = req.get("model")
    if model is not None:
        model = allowed_name(call, "embed", "models", model, open_when_unset=True)
    embedder = service(call.context.services.embed, "embedding")
    vectors = _call_service(call, embedder.embed, call.context.tenant_id, texts, model)
    return give_json(call, {"vectors": vectors, "dim": len(vectors[0]) if vectors else 0})


def infer(call: GuestCall, ptr: int, length: int) -> int:
    """``abi_neural_infer.infer``: ``{model, inputs}`` -> ``{outputs}``."""
    req = require_object(read_json(call, ptr, length), "model", "inputs")
    model = allowed_name(call, "neural.infer", "models", req["model"], open_when_unset=True)
    neural = service(call.context.services.neural, "neural inference")
    outputs = _call_service(call, neural.infer, call.context.tenant_id, model, _list(req, "inputs"))
    return give_json(call, {"outputs": outputs})


def agent_call(call: GuestCall, ptr: int, length: int) -> int:
    """``abi_agents_call.call``: ``{agent, query, conversation_id}`` -> the agent's answer."""
    req = require_object(read_json(call, ptr, length), "agent", "query")
    agent = allowed_name(call, "agents.call", "agents", req["agent"], open_when_unset=True)
    if not isinstance(req["query"], str):
        raise HostFailure("bad_argument", "'query' must be a string")
    conversation = req.get("conversation_id")
    agents = service(call.context.services.agents, "agent")
    answer = _call_service(
        call, agents.call, call.context.tenant_id, agent, req["query"], conversation
    )
    return give_json(call, answer)


VECTORS_READ = HostCapability("vectors.read", {"search": search, "get": get})
VECTORS_WRITE = HostCapability("vectors.write", {"upsert": upsert, "delete": delete})
EMBED = HostCapability("embed", {"embed": embed})
NEURAL = HostCapability("neural.infer", {"infer": infer})
AGENTS = HostCapability("agents.call", {"call": agent_call})
