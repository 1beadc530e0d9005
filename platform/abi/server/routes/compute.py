"""Compute over REST: the OpenCL devices (``compute:read``) and text embeddings with the
platform's configured embedder (``compute:write``: it spends compute)."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, Field
from quart import Blueprint
from quart_schema import validate_request

from abi.errors import InvalidInput
from abi.server.auth import require_scope
from abi.server.context import current_platform

blueprint = Blueprint("compute", __name__, url_prefix="/api/v1")

MAX_TEXTS = 256
MAX_TEXT_CHARS = 32_768


class EmbedBody(BaseModel):
    texts: list[str] = Field(min_length=1, max_length=MAX_TEXTS)
    model: str | None = Field(
        None, description="Must name the configured embedder when given (see GET devices)."
    )


@blueprint.get("/compute/devices")
@require_scope("compute:read")
async def list_devices() -> dict[str, Any]:
    """OpenCL platforms and devices, the configured backend and the default embedder."""
    from abi.compute.devices import platforms_summary

    platform = current_platform()
    platforms = await asyncio.to_thread(platforms_summary)
    embedder = platform.embedder
    return {
        "backend": platform.settings.compute.backend,
        "platforms": platforms,
        "embedder": {"name": embedder.name, "dim": embedder.dim},
    }


@blueprint.post("/embed")
@require_scope("compute:write")
@validate_request(EmbedBody)
async def embed(data: EmbedBody) -> dict[str, Any]:
    """Embed up to 256 texts: L2-normalised float vectors, one per text, in order."""
    embedder = current_platform().embedder
    if data.model is not None and data.model != embedder.name:
        raise InvalidInput(
            f"model {data.model!r} is not available; this server embeds with {embedder.name!r}",
            code="compute.unknown_model",
        )
    too_long = [i for i, text in enumerate(data.texts) if len(text) > MAX_TEXT_CHARS]
    if too_long:
        raise InvalidInput(
            f"texts {too_long[:5]} exceed {MAX_TEXT_CHARS} characters; split them",
            code="compute.text_too_long",
        )
    vectors = await asyncio.to_thread(embedder.embed, data.texts)
    return {"model": embedder.name, "dim": embedder.dim, "vectors": vectors.tolist()}
