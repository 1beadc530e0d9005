"""Agent definitions: persona, capabilities, tools, memory, services and backend.

An :class:`AgentSpec` is what a tenant writes (over the API, the CLI or in code); it is
validated here, stored as JSON by the registry, and versioned on every update. A secret
(the LLM backend's API key) is accepted on input but never stored in the spec: the registry
encrypts it separately and the spec only says whether one is set.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from abi.agents.capabilities import Capability, capability_names, parse_capabilities

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Persona(_Model):
    """Who the agent is: the router compares requests with this text and the examples."""

    description: str = Field("", max_length=4000)
    instructions: str = Field("", max_length=16000, description="System prompt for the backend.")
    tags: list[str] = Field(default_factory=list, max_length=64)
    examples: list[str] = Field(
        default_factory=list, max_length=64, description="Requests this agent should receive."
    )

    def texts(self) -> list[str]:
        """The texts the router embeds for this persona (description, tags, examples)."""
        head = " ".join(part for part in (self.description, " ".join(self.tags)) if part)
        return [text for text in (head, *self.examples) if text.strip()]


class ToolSpec(_Model):
    """An installed plugin entry point the agent may call, exposed as a typed tool."""

    plugin: str = Field(min_length=1, max_length=128)
    entry: str = Field("handle", min_length=1, max_length=128)
    name: str | None = Field(None, description="Tool name for the model (default plugin_entry).")
    description: str = Field("", max_length=2000)
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON schema of the tool's arguments (sent to the plugin as JSON).",
    )

    @property
    def tool_name(self) -> str:
        return self.name or f"{self.plugin}_{self.entry}".replace(".", "_")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        if value is not None and not _TOOL_NAME.match(value):
            raise ValueError("tool names use 1-64 letters, digits, '_' or '-'")
        return value


class ServiceSpec(_Model):
    """A named operation the agent offers to other agents and workflows."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,127}$")
    description: str = Field("", max_length=2000)
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    output_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})


class MemorySpec(_Model):
    """The agent's memory: a WDBX collection of the tenant with a text field per passage."""

    collection: str = Field(min_length=1, max_length=128)
    text_field: str = Field("text", min_length=1)
    source_field: str = Field("source", min_length=1)


class PluginBackend(_Model):
    """The agent's logic is a plugin entry point; the query goes in as JSON."""

    kind: Literal["plugin"] = "plugin"
    plugin: str = Field(min_length=1, max_length=128)
    entry: str = Field("handle", min_length=1, max_length=128)


class RetrievalBackend(_Model):
    """Built in: answer with the top passages of the agent's memory."""

    kind: Literal["retrieval"] = "retrieval"
    top_k: int = Field(5, ge=1, le=100)
    min_score: float | None = Field(None, description="Drop passages scoring below this.")


class LlmBackend(_Model):
    """An OpenAI-compatible chat-completions provider; several base URLs are replicas."""

    kind: Literal["llm"] = "llm"
    base_urls: list[str] = Field(min_length=1, max_length=16)
    model: str = Field(min_length=1, max_length=256)
    api_key: str | None = Field(None, description="Write-only; stored encrypted per tenant.")
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1, le=1_000_000)
    max_tool_rounds: int = Field(4, ge=0, le=32)
    context_passages: int = Field(
        0, ge=0, le=50, description="Memory passages added to the prompt (0: none)."
    )

    @field_validator("base_urls")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"base URL {url!r} must start with http:// or https://")
        return [url.rstrip("/") for url in urls]


Backend = Annotated[PluginBackend | RetrievalBackend | LlmBackend, Field(discriminator="kind")]


class AgentSpec(_Model):
    """Everything that defines an agent; stored versioned by the registry."""

    name: str = Field(pattern=NAME_PATTERN, description="Unique per tenant.")
    persona: Persona = Field(default_factory=Persona)
    capabilities: list[str] = Field(default_factory=list)
    tools: list[ToolSpec] = Field(default_factory=list, max_length=64)
    memory: MemorySpec | None = None
    services: list[ServiceSpec] = Field(default_factory=list, max_length=64)
    backend: Backend = Field(default_factory=RetrievalBackend)

    @field_validator("capabilities")
    @classmethod
    def _known_capabilities(cls, names: list[str]) -> list[str]:
        return capability_names(parse_capabilities(names))

    @field_validator("tools")
    @classmethod
    def _unique_tools(cls, tools: list[ToolSpec]) -> list[ToolSpec]:
        names = [tool.tool_name for tool in tools]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"tool names must be unique, repeated: {', '.join(duplicates)}")
        return tools

    @property
    def flags(self) -> Capability:
        return parse_capabilities(self.capabilities)

    def without_secret(self) -> tuple[AgentSpec, str | None]:
        """This spec with the API key removed, and the key (None when not given)."""
        if isinstance(self.backend, LlmBackend) and self.backend.api_key is not None:
            backend = self.backend.model_copy(update={"api_key": None})
            return self.model_copy(update={"backend": backend}), self.backend.api_key
        return self, None
