"""What every backend receives (a :class:`Query`) and returns (an :class:`Answer`), and the
ports to the subsystems backends use (plugins, memory), typed as protocols so the agents
package depends on behaviour, not on classes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from abi.agents.registry import Agent
from abi.agents.spec import MemorySpec
from abi.agents.usage import AgentUsage

TokenSink = Callable[[str], Awaitable[None]]


@dataclass
class Query:
    """One request to one agent."""

    tenant_id: str
    agent: Agent
    text: str
    trace_id: str
    span_id: str
    history: list[dict[str, str]] = field(default_factory=list)
    """Earlier turns of the conversation: ``{"role": "user"|"assistant", "content"}``."""
    input: dict[str, Any] | None = None
    """Structured input (workflow steps pass their resolved input here)."""
    on_token: TokenSink | None = None
    """When set, the backend streams its answer through it as it is produced."""
    replica: str | None = None
    """The replica the balancer chose (an LLM base URL)."""


@dataclass
class Passage:
    """A memory passage returned by a search."""

    id: str | int
    score: float
    text: str
    source: str | None
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "score": round(self.score, 6),
            "text": self.text,
            "source": self.source,
        }


@dataclass
class Answer:
    """A backend's answer with what it used."""

    text: str
    usage: AgentUsage = field(default_factory=AgentUsage)
    sources: list[Passage] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    data: Any = None
    """Structured output (a plugin's JSON), when there is one."""


class PluginUsageLike(Protocol):
    @property
    def fuel(self) -> int: ...

    @property
    def wall_us(self) -> int: ...


class PluginResultLike(Protocol):
    @property
    def output(self) -> bytes: ...

    @property
    def usage(self) -> PluginUsageLike: ...


class PluginRunner(Protocol):
    """Calls an installed plugin of a tenant in the sandbox (``platform.plugins``)."""

    def invoke(self, tenant_id: str, name: str, entry: str, data: bytes, /) -> PluginResultLike: ...


class MemorySearch(Protocol):
    """Searches an agent's memory collection by text."""

    def search(
        self, tenant_id: str, memory: MemorySpec, text: str, k: int
    ) -> tuple[list[Passage], int]:
        """The top ``k`` passages and how many vectors the search compared."""
        ...


class Backend(Protocol):
    async def answer(self, query: Query) -> Answer: ...
