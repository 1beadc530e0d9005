"""The run context (``input`` and finished ``steps``), template resolution and conditions."""

from __future__ import annotations

import json
import re
from typing import Any

from abi.agents.workflows.definition import Condition
from abi.errors import InvalidInput

_REF = re.compile(r"\{\{\s*([A-Za-z0-9_.\-\[\]]+)\s*\}\}")
_MISSING = object()


def lookup(context: dict[str, Any], path: str) -> Any:
    """The value at dotted ``path`` (list items by index), or a sentinel when absent."""
    value: Any = context
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif (
            isinstance(value, list)
            and part.lstrip("-").isdigit()
            and -len(value) <= int(part) < len(value)
        ):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _required(context: dict[str, Any], path: str) -> Any:
    value = lookup(context, path)
    if value is _MISSING:
        raise InvalidInput(
            f"template reference {{{{ {path} }}}} does not resolve: no such input or step "
            "output (yet)",
            code="workflows.unresolved_reference",
        )
    return value


def resolve(template: Any, context: dict[str, Any]) -> Any:
    """``template`` with every ``{{ path }}`` replaced (recursively through lists/dicts)."""
    if isinstance(template, str):
        whole = _REF.fullmatch(template.strip())
        if whole:
            return _required(context, whole.group(1))
        return _REF.sub(lambda m: _text(_required(context, m.group(1))), template)
    if isinstance(template, list):
        return [resolve(item, context) for item in template]
    if isinstance(template, dict):
        return {key: resolve(value, context) for key, value in template.items()}
    return template


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def holds(condition: Condition, context: dict[str, Any]) -> bool:
    """Whether ``condition`` is true in ``context`` (a missing path is false, except ``ne``)."""
    value = lookup(context, condition.path)
    op, expected = condition.op, condition.value
    if op == "exists":
        return value is not _MISSING
    if value is _MISSING:
        return op == "ne"
    try:
        if op == "eq":
            return bool(value == expected)
        if op == "ne":
            return bool(value != expected)
        if op == "truthy":
            return bool(value)
        if op == "contains":
            return expected in value
        if op == "in":
            return value in expected
        if op == "gt":
            return bool(value > expected)
        if op == "ge":
            return bool(value >= expected)
        if op == "lt":
            return bool(value < expected)
        return bool(value <= expected)
    except TypeError:
        return False
