"""Fixtures shared by every suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from abi.config import Settings, load_settings
from abi.runtime import Platform


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a private data directory and no influence from the caller's ABI_* env."""
    return load_settings(environ={}, overrides={"data_dir": tmp_path / "data"})


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    """A started Platform on a private data directory."""
    with Platform(settings) as started:
        yield started
