"""Workflow engine semantics: order, fan-out and aggregation, branches, retries with backoff,
timeouts, continue-on-error, checkpoints and resume, cancellation, events and records.

Leaf steps are executed by a scripted runner (the agent service is tested elsewhere); runs
are recorded in a real SQLite store and events go through the real local bus."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from abi.agents.tables import MIGRATIONS
from abi.agents.usage import AgentUsage
from abi.agents.workflows.definition import AgentStep, PluginStep, WorkflowSpec
from abi.agents.workflows.engine import StepResult, Trace, WorkflowEngine
from abi.agents.workflows.runs import RunStore
from abi.errors import InvalidInput, Unavailable
from abi.events import Event, LocalEventBus
from abi.store import Database

TENANT = "t_engine"


class Script:
    """Leaf steps: plugin ``echo`` returns its input; ``flaky`` fails as many times as
    ``failures[step id]`` says first; ``slow`` sleeps; ``flaky-after-slow`` fails once
    ``slow`` runs; ``gate`` waits for ``gate``; agents answer ``"<agent>: <query>"``."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.failures: dict[str, int] = {}
        self.gate: asyncio.Event | None = None
        self.slow_started = asyncio.Event()

    async def run_agent(
        self, tenant_id: str, step: AgentStep, query: str, step_input: Any, trace: Trace
    ) -> StepResult:
        self.calls.append(step.id)
        usage = AgentUsage(llm_calls=1, prompt_tokens=len(query.split()))
        text = f"{step.agent}: {query}"
        return StepResult({"answer": text, "score": len(query)}, text, usage)

    async def run_plugin(
        self, tenant_id: str, step: PluginStep, step_input: Any, trace: Trace
    ) -> StepResult:
        self.calls.append(step.id)
        if step.plugin == "flaky-after-slow":
            await self.slow_started.wait()
            raise Unavailable("failed while a sibling runs")
        if step.plugin == "flaky":
            left = self.failures.get(step.id, 0)
            if left:
                self.failures[step.id] = left - 1
                raise Unavailable("flaky plugin failed")
        if step.plugin == "slow":
            self.slow_started.set()
            await asyncio.sleep(30)
        if step.plugin == "gate" and self.gate is not None:
            await self.gate.wait()
        usage = AgentUsage(plugin_calls=1, plugin_fuel=100)
        return StepResult(step_input, str(step_input), usage)


class Harness:
    def __init__(self, tmp_path: Path) -> None:
        self.db = Database(f"sqlite:///{tmp_path / 'wf.db'}")
        self.db.migrate(MIGRATIONS)
        self.runs = RunStore(self.db)
        self.events = LocalEventBus()
        self.script = Script()
        self.delays: list[float] = []

        async def sleep(seconds: float) -> None:
            self.delays.append(seconds)

        self.engine = WorkflowEngine(self.script, self.runs, self.events, sleep=sleep)
        self.count = 0

    def create(self, definition: dict[str, Any], run_input: Any = None) -> str:
        spec = WorkflowSpec.model_validate({"name": "wf", **definition})
        self.count += 1
        run_id = f"run_{self.count}"
        self.runs.create(
            TENANT,
            run_id,
            workflow_id="wf_1",
            version=1,
            definition=spec.model_dump(mode="json", by_alias=True),
            run_input=run_input,
            trace_id="ab" * 16,
        )
        return run_id

    async def run(self, definition: dict[str, Any], run_input: Any = None) -> dict[str, Any]:
        return await self.engine.execute(TENANT, self.create(definition, run_input))

    async def start_held(self) -> tuple[str, asyncio.Task[dict[str, Any]]]:
        """A run whose first step is held at the gate (it has started) and a second step
        ``never``: the run id and the task executing it."""
        self.script.gate = asyncio.Event()
        run_id = self.create({"steps": [plugin("wait", name="gate"), plugin("never")]})
        task = asyncio.create_task(self.engine.execute(TENANT, run_id))
        while self.script.calls != ["wait"]:
            await asyncio.sleep(0.01)
        return run_id, task


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def plugin(step_id: str, value: Any = None, name: str = "echo", **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "kind": "plugin", "plugin": name, "input": value, **extra}


async def test_sequential_steps_feed_each_other(h: Harness) -> None:
    run = await h.run(
        {
            "steps": [
                {"id": "ask", "kind": "agent", "agent": "writer"},
                plugin("save", {"text": "{{ steps.ask.text }}", "n": "{{ input.n }}"}),
            ]
        },
        {"query": "hello", "n": 3},
    )
    assert run["status"] == "completed"
    assert run["output"] == {"text": "writer: hello", "n": 3}
    assert [s["step_id"] for s in run["steps"]] == ["ask", "save"]
    assert run["usage"]["llm_calls"] == 1 and run["usage"]["plugin_fuel"] == 100


async def test_parallel_fan_out_aggregates_outputs(h: Harness) -> None:
    branches = [plugin("a", 1), plugin("b", 2), plugin("c", 3)]
    for aggregate, expected in (
        ("object", {"a": 1, "b": 2, "c": 3}),
        ("list", [1, 2, 3]),
        ("concat", "1\n2\n3"),
    ):
        run = await h.run(
            {
                "steps": [
                    {"id": "fan", "kind": "parallel", "branches": branches, "aggregate": aggregate}
                ]
            }
        )
        assert run["output"] == expected
        assert run["usage"]["plugin_calls"] == 3


async def test_branch_runs_then_or_else(h: Harness) -> None:
    definition = {
        "steps": [
            plugin("score", "{{ input.x }}"),
            {
                "id": "check",
                "kind": "branch",
                "if": {"path": "steps.score.output", "op": "gt", "value": 5},
                "then": [plugin("big", "big")],
                "else": [plugin("small", "small")],
            },
        ]
    }
    assert (await h.run(definition, {"x": 9}))["output"] == "big"
    run = await h.run(definition, {"x": 1})
    assert run["output"] == "small"
    assert "big" not in [s["step_id"] for s in run["steps"]]


async def test_when_false_skips_the_step(h: Harness) -> None:
    run = await h.run(
        {
            "steps": [
                plugin("first", "one"),
                plugin("never", "two", when={"path": "input.flag", "op": "truthy"}),
            ]
        },
        {"flag": False},
    )
    assert run["output"] == "one"
    assert h.script.calls == ["first"]


async def test_retries_with_exponential_backoff(h: Harness) -> None:
    h.script.failures["f"] = 2
    run = await h.run(
        {
            "steps": [
                plugin("f", "ok", name="flaky", retries=3, backoff_seconds=0.5, backoff_factor=3)
            ]
        }
    )
    assert run["status"] == "completed"
    assert h.delays == [0.5, 1.5]
    assert run["steps"][0]["attempts"] == 3


async def test_exhausted_retries_fail_the_run(h: Harness) -> None:
    h.script.failures["f"] = 5
    run = await h.run({"steps": [plugin("f", "x", name="flaky", retries=1), plugin("after")]})
    assert run["status"] == "failed"
    assert run["error"]["step_id"] == "f"
    assert run["error"]["code"] == "unavailable"
    assert run["error"]["attempts"] == 2
    assert "after" not in h.script.calls


async def test_continue_on_error_lets_the_run_go_on(h: Harness) -> None:
    h.script.failures["f"] = 5
    run = await h.run(
        {"steps": [plugin("f", "x", name="flaky", continue_on_error=True), plugin("after", "done")]}
    )
    assert run["status"] == "completed"
    assert [s["status"] for s in run["steps"]] == ["failed", "completed"]


async def test_step_timeout_fails_the_step(h: Harness) -> None:
    run = await h.run({"steps": [plugin("s", name="slow", timeout_seconds=0.05)]})
    assert run["status"] == "failed"
    assert run["error"]["code"] == "workflows.step_timeout"


async def test_failing_branch_cancels_its_siblings(h: Harness) -> None:
    h.script.failures["bad"] = 1
    run = await h.run(
        {
            "steps": [
                {
                    "id": "fan",
                    "kind": "parallel",
                    "branches": [plugin("bad", name="flaky"), plugin("slow", name="slow")],
                }
            ]
        }
    )
    assert run["status"] == "failed"
    statuses = {s["step_id"]: s["status"] for s in run["steps"]}
    assert statuses["bad"] == "failed" and statuses["slow"] == "cancelled"


async def test_unresolved_reference_fails_clearly(h: Harness) -> None:
    run = await h.run({"steps": [plugin("p", "{{ steps.nope.output }}")]})
    assert run["status"] == "failed"
    assert run["error"]["code"] == "workflows.unresolved_reference"


async def test_checkpoint_resume_skips_finished_steps(h: Harness) -> None:
    run_id = h.create({"steps": [plugin("one", 1), plugin("two", 2)]})
    h.runs.update(
        TENANT, run_id, checkpoint={"one": {"status": "completed", "output": 1, "text": "1"}}
    )
    run = await h.engine.execute(TENANT, run_id)
    assert run["status"] == "completed"
    assert h.script.calls == ["two"]


async def test_checkpoint_is_written_after_every_step(h: Harness) -> None:
    await h.run({"steps": [plugin("one", 1), plugin("two", 2)]})
    assert set(h.runs.raw(TENANT, "run_1")["checkpoint"]) == {"one", "two"}


async def test_cancelling_the_task_records_a_cancelled_run(h: Harness) -> None:
    run_id, task = await h.start_held()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    run = h.runs.get(TENANT, run_id)
    assert run["status"] == "cancelled"
    assert run["steps"][0]["status"] == "cancelled"


async def test_cancel_from_another_process_stops_at_next_step(h: Harness) -> None:
    run_id, task = await h.start_held()
    h.runs.update(TENANT, run_id, status="cancelled")
    assert h.script.gate is not None
    h.script.gate.set()
    run = await task
    assert run["status"] == "cancelled"
    assert "never" not in h.script.calls


async def test_events_stream_every_step(h: Harness) -> None:
    run_id = h.create({"steps": [plugin("one", 1), plugin("two", 2)]})
    subscription = h.events.subscribe(TENANT, (f"workflows.{run_id}",))
    await h.engine.execute(TENANT, run_id)
    await asyncio.sleep(0.05)
    seen: list[Event] = []
    while not subscription._queue.empty():
        event = await subscription.get()
        assert event is not None
        seen.append(event)
    kinds = [(e.data["type"], e.data.get("step_id")) for e in seen]
    assert kinds == [
        ("run.started", None),
        ("step.started", "one"),
        ("step.finished", "one"),
        ("step.started", "two"),
        ("step.finished", "two"),
        ("run.finished", None),
    ]
    finished = seen[2].data
    assert finished["usage"]["plugin_fuel"] == 100
    assert finished["trace_id"] == "ab" * 16 and len(finished["span_id"]) == 16


def test_duplicate_step_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        WorkflowSpec.model_validate(
            {
                "name": "w",
                "steps": [plugin("a"), {"id": "p", "kind": "parallel", "branches": [plugin("a")]}],
            }
        )


def test_unknown_step_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        WorkflowSpec.model_validate({"name": "w", "steps": [{"id": "a", "kind": "teleport"}]})


def test_reference_errors_are_invalid_input() -> None:
    from abi.agents.workflows.context import resolve

    assert resolve("x={{ input.a.0 }}", {"input": {"a": [7]}}) == "x=7"
    with pytest.raises(InvalidInput):
        resolve("{{ input.b }}", {"input": {}})
