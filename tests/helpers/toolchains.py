"""Building plugins in tests: a missing toolchain skips with the reason, unless CI demands
toolchains (ABI_REQUIRE_TOOLCHAINS set), where it fails instead."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from abi.cli.plugin_author import ToolchainMissing, build_project


def require_toolchain(exc: ToolchainMissing) -> None:
    """Skip (or fail under ABI_REQUIRE_TOOLCHAINS) because a toolchain is missing."""
    if os.environ.get("ABI_REQUIRE_TOOLCHAINS"):
        pytest.fail(f"ABI_REQUIRE_TOOLCHAINS is set but {exc.message}")
    pytest.skip(exc.message)


def build_or_skip(project: Path, out: Path | None = None) -> Path:
    """``build_project`` that turns a missing toolchain into a skip (or a CI failure)."""
    try:
        return build_project(project, out)
    except ToolchainMissing as exc:
        require_toolchain(exc)
        raise
