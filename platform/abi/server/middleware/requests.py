"""Request ids (``X-Request-ID`` in and out), the JSON access log and HTTP metrics.

The access log names the request's trace id too: the observability hook, installed after
this one, sets ``X-Trace-ID`` on the response before this hook runs (Quart runs
``after_request`` hooks in reverse order).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from quart import Quart, Response, g, request, websocket

from abi.observability.http import TRACE_HEADER
from abi.server.middleware.metrics import LATENCY, REQUESTS

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_log = logging.getLogger("abi.access")


def request_id() -> str:
    """The current request's id (assigned on first use if the hooks have not run)."""
    rid = g.get("request_id")
    if rid is None:
        rid = g.request_id = uuid.uuid4().hex
    return str(rid)


def _assign(incoming: str | None) -> None:
    g.request_id = incoming if incoming and _VALID.match(incoming) else uuid.uuid4().hex
    g.started = time.perf_counter()


def install(app: Quart, *, access_log: bool) -> None:
    @app.before_request
    async def _before_request() -> None:
        _assign(request.headers.get(HEADER))

    @app.before_websocket
    async def _before_websocket() -> None:
        _assign(websocket.headers.get(HEADER))

    @app.after_request
    async def _after_request(response: Response) -> Response:
        response.headers[HEADER] = request_id()
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
        REQUESTS.labels(rule, request.method, str(response.status_code)).inc()
        LATENCY.labels(rule, request.method).observe(elapsed)
        if access_log:
            _log(response, elapsed)
        return response


def _log(response: Response, elapsed: float) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    principal = g.get("abi_principal")
    access_log.info(
        json.dumps(
            {
                "ts": round(time.time(), 3),
                "request_id": request_id(),
                "trace_id": response.headers.get(TRACE_HEADER),
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 3),
                "remote": request.remote_addr,
                "tenant": getattr(principal, "tenant_id", None),
                "client": getattr(principal, "client_id", None),
            }
        )
    )
