"""Semantic versions and version ranges for plugin dependencies.

A range is one or more comparators separated by commas or spaces, all of which must hold:
``>=1.2.0``, ``<2``, ``==1.4.1``, ``!=1.3.0``, a bare version (exact), ``*`` (any),
``^1.2.3`` (same major; for 0.x same minor) and ``~1.2.3`` (same minor). Missing minor or
patch parts count as 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import semver

from abi.errors import InvalidInput

_OPS: dict[str, Callable[[semver.Version, semver.Version], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
_COMPARATOR = re.compile(
    r"^(>=|<=|>|<|==|=|!=|\^|~)?\s*v?(\d+(?:\.\d+){0,2}(?:[-+][0-9A-Za-z.+-]*)?)$"
)


def parse_version(text: str) -> semver.Version:
    """A strict semver version (``MAJOR.MINOR.PATCH[-pre][+build]``); InvalidInput otherwise."""
    try:
        return semver.Version.parse(text)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            f"{text!r} is not a semantic version (MAJOR.MINOR.PATCH)", code="plugin.bad_version"
        ) from exc


def _loose(text: str) -> semver.Version:
    """A version where missing minor/patch parts count as 0 (``1`` -> ``1.0.0``)."""
    core = text
    if not re.search(r"[-+]", core):
        parts = core.split(".")
        core = ".".join(parts + ["0"] * (3 - len(parts)))
    return parse_version(core)


@dataclass(frozen=True)
class VersionRange:
    """A parsed range; ``contains(version)`` tells whether a version satisfies it."""

    text: str
    comparators: tuple[tuple[str, semver.Version], ...]

    def contains(self, version: semver.Version | str) -> bool:
        """Whether ``version`` satisfies every comparator."""
        v = parse_version(version) if isinstance(version, str) else version
        return all(_OPS[op](v, bound) for op, bound in self.comparators)

    def best(self, versions: Iterable[str]) -> str | None:
        """The highest of ``versions`` inside the range (pre-releases only if named)."""
        matching = [
            (parse_version(v), v)
            for v in versions
            if self.contains(v) and (parse_version(v).prerelease is None or self._names_pre())
        ]
        return max(matching)[1] if matching else None

    def _names_pre(self) -> bool:
        return any(bound.prerelease is not None for _, bound in self.comparators)

    def __str__(self) -> str:
        return self.text


def parse_range(text: str) -> VersionRange:
    """Parse a version range (module docstring); InvalidInput naming the bad part."""
    stripped = text.strip()
    if stripped in ("", "*"):
        return VersionRange(text, ())
    comparators: list[tuple[str, semver.Version]] = []
    normalized = re.sub(r"(>=|<=|==|!=|>|<|=|\^|~)\s+", r"\1", stripped)
    for part in re.split(r"[,\s]+", normalized):
        token = part.strip()
        if not token:
            continue
        match = _COMPARATOR.match(token)
        if match is None:
            raise InvalidInput(
                f"version range {text!r}: cannot read {token!r} (use e.g. '>=1.2.0, <2' or '^1.2')",
                code="plugin.bad_version",
            )
        op, raw = match.group(1) or "==", match.group(2)
        bound = _loose(raw)
        if op == "^":
            upper = (
                bound.bump_major()
                if bound.major > 0
                else (bound.bump_minor() if bound.minor > 0 else bound.bump_patch())
            )
            comparators += [(">=", bound), ("<", upper)]
        elif op == "~":
            comparators += [(">=", bound), ("<", bound.bump_minor())]
        else:
            comparators.append((op, bound))
    return VersionRange(text, tuple(comparators))
