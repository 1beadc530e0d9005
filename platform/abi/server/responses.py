"""A faster ``make_response`` for plain JSON values.

quart-schema converts every returned value through a freshly built pydantic ``TypeAdapter``
(about 0.1 ms per response, twice when headers are given). Routes that return a plain dict or
list (no header mapping) go through one cached adapter per type instead, with the same
result; everything else (models, dataclasses, header mappings) keeps quart-schema's path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import TypeAdapter
from quart import Quart

_ADAPTERS: dict[type, TypeAdapter[Any]] = {type_: TypeAdapter(type_) for type_ in (dict, list)}


def install(app: Quart) -> None:
    """Wrap ``app.make_response`` (call after QuartSchema has wrapped it)."""
    schema_path: Callable[[Any], Awaitable[Any]] = app.make_response
    plain_path: Callable[[Any], Awaitable[Any]] = Quart.make_response.__get__(app)

    async def make_response(result: Any) -> Any:
        value, rest = (result[0], result[1:]) if isinstance(result, tuple) else (result, ())
        adapter = _ADAPTERS.get(type(value))
        if adapter is None or not all(isinstance(part, int) for part in rest):
            return await schema_path(result)
        dumped = adapter.dump_python(value)
        return await plain_path((dumped, *rest) if rest else dumped)

    app.make_response = make_response  # type: ignore[method-assign]
