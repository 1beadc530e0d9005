"""What host functions see: the guest call they serve, the tenant context, the services.

A host function is ``impl(call, *params) -> int | None`` where ``call`` is a
:class:`GuestCall` (memory access, result packing, the call's grants and context) and the
params are the raw Wasm integers. It raises :class:`HostFailure` to return an error to the
guest and :class:`CallAbort` to end the whole call with a typed error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from abi.plugins.errors import PluginCallError

MAX_REQUEST_BYTES = 1024 * 1024

STATUS_OK = 0
STATUS_DENIED = -1
STATUS_BAD_ARGUMENT = -2
STATUS_LIMIT = -3
STATUS_NOT_FOUND = -4
STATUS_HOST_ERROR = -5
_STATUS_BY_CODE = {
    "capability_denied": STATUS_DENIED,
    "bad_argument": STATUS_BAD_ARGUMENT,
    "limit_reached": STATUS_LIMIT,
    "not_found": STATUS_NOT_FOUND,
}


class HostFailure(Exception):
    """A host function failed; the guest gets an error result (``{"code","message"}``) or a
    negative status."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        """The ABI status code the guest sees for this failure."""
        return _STATUS_BY_CODE.get(self.code, STATUS_HOST_ERROR)


class CallAbort(Exception):
    """End the whole guest call with ``error`` (a limit was crossed)."""

    def __init__(self, error: PluginCallError) -> None:
        super().__init__(error.message)
        self.error = error


class KeyValueStore(Protocol):
    """Per-tenant, per-plugin byte values (the ``kv`` capability)."""

    def get(self, tenant_id: str, plugin: str, key: str) -> bytes | None: ...

    def set(self, tenant_id: str, plugin: str, key: str, value: bytes) -> None: ...

    def delete(self, tenant_id: str, plugin: str, key: str) -> bool:
        """Remove ``key``; whether it was there."""
        ...

    def stats(self, tenant_id: str, plugin: str) -> tuple[int, int]:
        """``(number of keys, total bytes of keys and values)``."""
        ...


class VectorService(Protocol):
    """The tenant's vector collections (``vectors.read`` / ``vectors.write``)."""

    def search(
        self,
        tenant_id: str,
        collection: str,
        vector: list[float],
        k: int,
        filter: Mapping[str, Any] | None,
    ) -> list[dict[str, Any]]: ...

    def get(self, tenant_id: str, collection: str, ids: list[Any]) -> list[dict[str, Any]]: ...

    def upsert(self, tenant_id: str, collection: str, items: list[dict[str, Any]]) -> int: ...

    def delete(self, tenant_id: str, collection: str, ids: list[Any]) -> int: ...


class EmbedService(Protocol):
    """Text embeddings with the tenant's (or the named) model (``embed``)."""

    def embed(self, tenant_id: str, texts: list[str], model: str | None) -> list[list[float]]: ...


class NeuralService(Protocol):
    """Inference with the tenant's registered models (``neural.infer``)."""

    def infer(self, tenant_id: str, model: str, inputs: list[list[float]]) -> list[list[float]]: ...


class AgentService(Protocol):
    """Calls to the tenant's agents (``agents.call``)."""

    def call(
        self, tenant_id: str, agent: str, query: str, conversation_id: str | None
    ) -> dict[str, Any]: ...


@dataclass
class HostServices:
    """Providers for the capabilities backed by other subsystems; a missing one makes its
    host functions return ``unavailable``."""

    kv: KeyValueStore | None = None
    vectors: VectorService | None = None
    embed: EmbedService | None = None
    neural: NeuralService | None = None
    agents: AgentService | None = None
    http_transport: Any = None
    """An ``httpx.BaseTransport`` for the ``http`` capability (tests, proxies); default: real."""


@dataclass
class HostContext:
    """Who a plugin runs for: tenant, plugin identity, granted capabilities, config."""

    tenant_id: str
    plugin: str
    version: str
    grants: Mapping[str, Mapping[str, Any]]
    """Granted capability -> effective parameters."""
    config: Mapping[str, Any] = field(default_factory=dict)
    services: HostServices = field(default_factory=HostServices)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("abi.plugins.guest"))
    log_sink: Callable[[int, str], None] | None = None
    """Receives guest log lines (level, text) besides the logger."""


class GuestCall(Protocol):
    """The call a host function serves (implemented by the sandbox's instance)."""

    context: HostContext

    def read(self, ptr: int, length: int) -> bytes:
        """Guest memory ``[ptr, ptr+length)``; HostFailure(bad_argument) when out of bounds."""
        ...

    def write(self, ptr: int, data: bytes) -> None:
        """Copy ``data`` into guest memory at ``ptr``; HostFailure(bad_argument) when out of
        bounds."""
        ...

    def give(self, data: bytes) -> int:
        """Copy ``data`` into fresh guest memory (``abi_alloc``); the packed success result."""
        ...

    def emit(self, chunk: bytes) -> None:
        """Stream a chunk to the caller (counts toward the output limit)."""
        ...

    def time_left(self) -> float:
        """Seconds this host function may still take."""
        ...


def read_json(call: GuestCall, ptr: int, length: int) -> Any:
    """A JSON request from guest memory (at most 1 MiB)."""
    if length > MAX_REQUEST_BYTES:
        raise HostFailure("bad_argument", f"request is {length} bytes; the limit is 1 MiB")
    try:
        return json.loads(call.read(ptr, length))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HostFailure("bad_argument", f"request is not JSON: {exc}") from exc


def give_json(call: GuestCall, value: Any) -> int:
    """:meth:`GuestCall.give` for compact JSON."""
    return call.give(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def require_object(request: Any, *keys: str) -> dict[str, Any]:
    """The request as a JSON object that has ``keys``; HostFailure(bad_argument) if not."""
    if not isinstance(request, dict):
        raise HostFailure("bad_argument", "request must be a JSON object")
    for key in keys:
        if key not in request:
            raise HostFailure("bad_argument", f"request needs {key!r}")
    return request


def grant_params(call: GuestCall, capability: str) -> Mapping[str, Any]:
    """The granted parameters of ``capability`` for this call (empty when none)."""
    return call.context.grants.get(capability, {})


def allowed_name(
    call: GuestCall, capability: str, param: str, name: Any, *, open_when_unset: bool = False
) -> str:
    """``name`` when the grant of ``capability`` lists it under ``param`` (or, with
    ``open_when_unset``, when the grant lists nothing); HostFailure otherwise."""
    allowed = grant_params(call, capability).get(param)
    if not isinstance(name, str) or not name:
        raise HostFailure("bad_argument", f"{param[:-1]} must be a non-empty string")
    if allowed is None and open_when_unset:
        return name
    if allowed is None or name not in allowed:
        raise HostFailure("capability_denied", f"{name!r} is not in the {capability} grant")
    return name


def service(value: Any, name: str) -> Any:
    """The service or HostFailure(unavailable) when this platform has none."""
    if value is None:
        raise HostFailure("unavailable", f"no {name} service is available on this host")
    return value


HostImpl = Callable[..., int | None]


@dataclass(frozen=True)
class HostCapability:
    """A capability's implementation: host function name -> impl."""

    name: str
    functions: Mapping[str, HostImpl]
