"""Workflow definitions: a tree of steps.

Step kinds: ``agent`` (query an agent, named or chosen by the router), ``plugin`` (call an
installed plugin's entry point), ``parallel`` (run branches concurrently and aggregate their
outputs) and ``branch`` (run ``then`` or ``else`` depending on a condition). Every step may
retry with exponential backoff, have a timeout, be skipped by a ``when`` condition and, with
``continue_on_error``, let the run go on after it failed.

Values may reference the run's context with ``{{ path }}``: ``input.<key>`` (the run's
input), ``steps.<id>.output[.<key>...]`` and ``steps.<id>.text``. A string that is exactly
one reference takes the referenced value as is; otherwise references are formatted into it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

STEP_ID = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Condition(_Model):
    """``<path> <op> <value>`` over the run context."""

    path: str = Field(min_length=1, description="e.g. steps.classify.output.label")
    op: Literal["eq", "ne", "gt", "ge", "lt", "le", "contains", "in", "exists", "truthy"] = "eq"
    value: Any = None


class _Step(_Model):
    id: str = Field(pattern=STEP_ID)
    retries: int = Field(0, ge=0, le=10)
    backoff_seconds: float = Field(0.5, ge=0, le=300)
    backoff_factor: float = Field(2.0, ge=1, le=10)
    timeout_seconds: float | None = Field(None, gt=0, le=3600)
    when: Condition | None = Field(None, description="Skip the step unless this holds.")
    continue_on_error: bool = False


class AgentStep(_Step):
    """Query an agent: by name/id, or routed by capabilities and the query text."""

    kind: Literal["agent"] = "agent"
    agent: str | None = Field(None, description="Agent name or id; omit to route.")
    capabilities: list[str] = Field(default_factory=list, description="Required when routing.")
    query: str = Field("{{ input.query }}", description="Text sent to the agent (templated).")
    input: Any = Field(None, description="Structured input (templated).")


class PluginStep(_Step):
    """Call an installed plugin of the tenant with JSON input."""

    kind: Literal["plugin"] = "plugin"
    plugin: str = Field(min_length=1, max_length=128)
    entry: str = Field("handle", min_length=1, max_length=128)
    input: Any = Field(None, description="JSON input (templated).")


class ParallelStep(_Step):
    """Run every branch concurrently; the output aggregates the branches' outputs."""

    kind: Literal["parallel"] = "parallel"
    branches: list[Step] = Field(min_length=1, max_length=64)
    aggregate: Literal["list", "object", "concat"] = "object"


class BranchStep(_Step):
    """Run ``then`` when the condition holds, else ``else``."""

    kind: Literal["branch"] = "branch"
    condition: Condition = Field(alias="if")
    then: list[Step] = Field(default_factory=list)
    otherwise: list[Step] = Field(default_factory=list, alias="else")


Step = Annotated[AgentStep | PluginStep | ParallelStep | BranchStep, Field(discriminator="kind")]
ParallelStep.model_rebuild()
BranchStep.model_rebuild()


def walk(steps: list[Step]) -> list[Step]:
    """Every step of the tree, depth first."""
    found: list[Step] = []
    for step in steps:
        found.append(step)
        if isinstance(step, ParallelStep):
            found.extend(walk(step.branches))
        elif isinstance(step, BranchStep):
            found.extend(walk(step.then))
            found.extend(walk(step.otherwise))
    return found


class WorkflowSpec(_Model):
    """A named workflow: its steps and the output it returns."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    description: str = Field("", max_length=4000)
    steps: list[Step] = Field(min_length=1, max_length=256)
    output: Any = Field(None, description="Templated result; default: the last step's output.")

    @model_validator(mode="after")
    def _unique_ids(self) -> WorkflowSpec:
        ids = [step.id for step in walk(self.steps)]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"step ids must be unique, repeated: {', '.join(repeated)}")
        return self
