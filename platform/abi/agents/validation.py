"""Validating definitions (agents, workflows) with errors that name the offending field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from abi.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


def parse_definition(model: type[M], data: Any, *, what: str, code: str) -> M:
    """``data`` as a ``model``; an InvalidInput with ``code`` names the first bad field."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "definition"
        raise InvalidInput(
            f"{what} definition is invalid at {where}: {first['msg']}", code=code
        ) from exc
