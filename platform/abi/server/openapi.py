"""The OpenAPI document: every route, tagged by its blueprint, WebSocket routes included.

quart-schema's provider leaves out WebSocket routes and untagged routes get no group; this
one tags each operation with its blueprint's name (unless the route names its own tags)
and describes each WebSocket route as a ``GET`` upgrade marked ``x-websocket``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from quart_schema.openapi import QUART_SCHEMA_HIDDEN_ATTRIBUTE, OpenAPIProvider
from werkzeug.routing import Rule

WEBSOCKET_MARK = "x-websocket"


class AbiOpenAPIProvider(OpenAPIProvider):
    """OpenAPI paths for every route that is not hidden (HTTP and WebSocket)."""

    def generate_rules(self) -> Iterable[Rule]:
        for rule in self._app.url_map.iter_rules():
            view = self._app.view_functions[rule.endpoint]
            if not getattr(view, QUART_SCHEMA_HIDDEN_ATTRIBUTE, False):
                yield rule

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        blueprint = rule.endpoint.rpartition(".")[0]
        for operations in paths.values():
            for operation in operations.values():
                if blueprint and "tags" not in operation:
                    operation["tags"] = [blueprint]
                if rule.websocket:
                    operation[WEBSOCKET_MARK] = True
                    operation["responses"] = {
                        "101": {"description": "Switching Protocols (WebSocket)"}
                    }
        return paths, components
