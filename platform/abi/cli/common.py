"""Helpers shared by the CLI commands: loading settings from flags, JSON output, errors."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from abi.config import Settings, load_settings
from abi.errors import AbiError
from abi.runtime import Platform

P = ParamSpec("P")
R = TypeVar("R")


def data_dir_option(func: Callable[P, R]) -> Callable[P, R]:
    """Add ``--data-dir`` and ``--config`` (also ``ABI_DATA_DIR`` / ``ABI_CONFIG``)."""
    func = click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="TOML settings file (or $ABI_CONFIG).",
    )(func)
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where Abi keeps its data (or $ABI_DATA_DIR; default ./data).",
    )(func)


def settings_from(data_dir: Path | None, config_file: Path | None, **overrides: Any) -> Settings:
    """Settings with the command's flags applied on top of file and environment."""
    top: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        top["data_dir"] = data_dir
    return load_settings(config_file, overrides=top)


def open_platform(data_dir: Path | None, config_file: Path | None) -> Platform:
    """A started Platform for commands that work on local data without a server."""
    platform = Platform(settings_from(data_dir, config_file))
    platform.start()
    return platform


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True, default=str))


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn an AbiError into ``error[<code>]: <message>`` on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except AbiError as exc:
            click.echo(f"error[{exc.code}]: {exc.message}", err=True)
            sys.exit(1)

    return wrapper
