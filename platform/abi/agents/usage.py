"""What an agent answer or a workflow step consumed: plugin fuel and time, LLM tokens,
vectors searched. Usages add up (a workflow run's usage is the sum of its steps')."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class AgentUsage:
    """Resources used to produce one answer."""

    plugin_calls: int = 0
    plugin_fuel: int = 0
    plugin_wall_us: int = 0
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    vectors_searched: int = 0
    embeddings: int = 0

    def add(self, other: AgentUsage) -> AgentUsage:
        """Add ``other`` into this usage (in place) and return it."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def add_plugin(self, fuel: int, wall_us: int) -> None:
        self.plugin_calls += 1
        self.plugin_fuel += fuel
        self.plugin_wall_us += wall_us

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> AgentUsage:
        known = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in (data or {}).items() if k in known})
