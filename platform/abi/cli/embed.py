"""``abi embed``: text embeddings with the configured embedder, locally (no server)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from abi.cli.common import data_dir_option, emit_json, handle_errors, settings_from


@click.command("embed")
@click.argument("texts", nargs=-1)
@click.option("--stdin", "from_stdin", is_flag=True, help="Read one text per line from stdin.")
@click.option(
    "--embedder",
    type=click.Choice(["hashing", "minilm"]),
    default=None,
    help="Override compute.embedder for this call.",
)
@data_dir_option
@handle_errors
def embed(
    texts: tuple[str, ...],
    *,
    from_stdin: bool = False,
    embedder: str | None = None,
    data_dir: Path | None = None,
    config_file: Path | None = None,
) -> None:
    """Print {"model", "dim", "vectors"} as JSON for TEXTS (or lines of stdin)."""
    from abi.compute.component import ComputeComponent

    items = list(texts)
    if from_stdin:
        items += [line.rstrip("\n") for line in sys.stdin]
    if not items:
        raise click.UsageError("give at least one text (or --stdin)")
    overrides = {"compute": {"embedder": embedder}} if embedder else {}
    settings = settings_from(data_dir, config_file, **overrides)
    model = ComputeComponent(settings).embedder
    vectors = model.embed(items)
    emit_json({"model": model.name, "dim": model.dim, "vectors": vectors.round(6).tolist()})
