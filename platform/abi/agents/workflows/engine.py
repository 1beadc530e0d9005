"""The workflow engine: executes a run's steps, recording and streaming each one.

Semantics:

- top-level steps run in order; ``parallel`` runs its branches concurrently (a branch that
  fails for good cancels its siblings) and aggregates their outputs; ``branch`` runs
  ``then`` or ``else`` by its condition; ``when`` skips a step whose condition is false;
- each step is tried ``1 + retries`` times with exponential backoff
  (``backoff_seconds * backoff_factor ** attempt``), each attempt bounded by
  ``timeout_seconds``; a step that still fails fails the run unless ``continue_on_error``;
- after every finished step the run's checkpoint (every finished step's output) is saved,
  and a run resumed from a checkpoint skips the steps it already finished;
- every step gets a span id under the run's trace id; events on the tenant topic
  ``workflows.<run_id>``: ``run.started``, ``step.started``, ``step.retry``,
  ``step.finished`` (output, usage, timing, ids), ``step.skipped``, ``run.finished``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from abi.agents.tracing import new_span_id, trace_scope
from abi.agents.usage import AgentUsage
from abi.agents.workflows.context import holds, resolve
from abi.agents.workflows.definition import (
    AgentStep,
    ParallelStep,
    PluginStep,
    Step,
    WorkflowSpec,
)
from abi.agents.workflows.runs import RunStore
from abi.errors import AbiError
from abi.events import EventBus
from abi.observability.tracing import span


@dataclass
class StepResult:
    """What a step produced."""

    output: Any
    text: str = ""
    usage: AgentUsage = field(default_factory=AgentUsage)
    meta: dict[str, Any] = field(default_factory=dict)


class StepRunner(Protocol):
    """Executes the leaf steps (the agent service fills it)."""

    async def run_agent(
        self, tenant_id: str, step: AgentStep, query: str, step_input: Any, trace: Trace
    ) -> StepResult: ...

    async def run_plugin(
        self, tenant_id: str, step: PluginStep, step_input: Any, trace: Trace
    ) -> StepResult: ...


@dataclass(frozen=True)
class Trace:
    trace_id: str
    span_id: str


_CANCELLED = {"code": "workflows.cancelled", "message": "the run was cancelled"}


class RunCancelled(AbiError):
    """The run was cancelled from another process (seen at a step boundary)."""

    code = "workflows.cancelled"
    status = 409


class StepFailed(AbiError):
    """A step failed after its retries; the run failed with it. ``error`` holds the failed
    step's id, error code and message and its number of attempts."""

    code = "workflows.step_failed"
    status = 500

    def __init__(self, message: str, error: dict[str, Any]) -> None:
        super().__init__(message)
        self.error = error


@dataclass
class _Run:
    tenant_id: str
    run_id: str
    trace_id: str
    input: Any
    steps: dict[str, dict[str, Any]]
    usage: AgentUsage = field(default_factory=AgentUsage)

    def context(self) -> dict[str, Any]:
        return {"input": self.input, "steps": self.steps}


def _error(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, AbiError):
        return {"code": exc.code, "message": exc.message}
    if isinstance(exc, TimeoutError):
        return {"code": "workflows.step_timeout", "message": "the step timed out"}
    return {"code": "internal", "message": f"{type(exc).__name__}: {exc}"}


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


class WorkflowEngine:
    """Runs workflow runs recorded in a :class:`RunStore`."""

    def __init__(
        self,
        runner: StepRunner,
        runs: RunStore,
        events: EventBus,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.runner = runner
        self.runs = runs
        self.events = events
        self.sleep = sleep
        self.stopping = False
        """Set while the platform stops: runs interrupted then stay resumable."""

    def _publish(self, run: _Run, event: str, /, **data: Any) -> None:
        payload = {"type": event, "run_id": run.run_id, "trace_id": run.trace_id, **data}
        self.events.publish(run.tenant_id, f"workflows.{run.run_id}", payload)

    async def _save(self, run: _Run, **values: Any) -> None:
        await asyncio.to_thread(self.runs.update, run.tenant_id, run.run_id, **values)

    def _open_step(self, run: _Run, step: Step, described: Any, trace: Trace) -> int | None:
        """The step's history row, written as running; None (and no row) if the run was
        cancelled from another process. One thread call: a step cancelled while it opens
        still gets its row, which the caller then marks cancelled."""
        if self.runs.status(run.tenant_id, run.run_id) == "cancelled":
            return None
        return self.runs.step_started(
            run.tenant_id,
            run.run_id,
            step.id,
            kind=step.kind,
            step_input=described,
            trace_id=trace.trace_id,
            span_id=trace.span_id,
        )

    async def _close_step(self, run: _Run, record: int, status: str, **values: Any) -> None:
        """Mark the step's history row ``status`` (with attempts, output, error...)."""
        await asyncio.to_thread(
            self.runs.step_finished, run.tenant_id, record, status=status, **values
        )

    def _publish_finished(
        self, run: _Run, step: Step, trace: Trace, *, elapsed_ms: float, **data: Any
    ) -> None:
        self._publish(
            run,
            "step.finished",
            step_id=step.id,
            kind=step.kind,
            span_id=trace.span_id,
            elapsed_ms=elapsed_ms,
            **data,
        )

    async def execute(self, tenant_id: str, run_id: str) -> dict[str, Any]:
        """Run (or resume) ``run_id`` to its end; returns the run as recorded."""
        row = await asyncio.to_thread(self.runs.raw, tenant_id, run_id)
        spec = WorkflowSpec.model_validate(row["definition"])
        run = _Run(tenant_id, run_id, row["trace_id"], row["input"], dict(row["checkpoint"]))
        run.usage = AgentUsage.from_dict(row["usage"])
        await self._save(run, status="running")
        self._publish(run, "run.started", workflow_id=row["workflow_id"], resumed=bool(run.steps))
        try:
            with (
                trace_scope(run.trace_id),
                span("invoke_workflow", tenant_id=tenant_id, run_id=run_id, workflow=spec.name),
            ):
                last = await self._sequence(run, spec.steps)
                output = (
                    resolve(spec.output, run.context())
                    if spec.output is not None
                    else (last.output if last is not None else None)
                )
        except asyncio.CancelledError:
            if not self.stopping:
                await asyncio.shield(self._finish(run, "cancelled", error=_CANCELLED))
            raise
        except RunCancelled:
            await self._finish(run, "cancelled", error=_CANCELLED)
        except StepFailed as exc:
            await self._finish(run, "failed", error=exc.error)
        except AbiError as exc:
            await self._finish(run, "failed", error=_error(exc))
        else:
            await self._finish(run, "completed", output=output)
        return await asyncio.to_thread(self.runs.get, tenant_id, run_id)

    async def _finish(self, run: _Run, status: str, **values: Any) -> None:
        await self._save(run, status=status, usage=run.usage.to_dict(), **values)
        self._publish(run, "run.finished", status=status, usage=run.usage.to_dict(), **values)

    async def _sequence(self, run: _Run, steps: list[Step]) -> StepResult | None:
        last: StepResult | None = None
        for step in steps:
            result = await self._step(run, step)
            if result is not None:
                last = result
        return last

    async def _step(self, run: _Run, step: Step) -> StepResult | None:
        done = run.steps.get(step.id)
        if done is not None:
            return StepResult(done.get("output"), done.get("text", ""))
        if step.when is not None and not holds(step.when, run.context()):
            run.steps[step.id] = {"status": "skipped", "output": None, "text": ""}
            await self._save(run, checkpoint=run.steps)
            self._publish(run, "step.skipped", step_id=step.id)
            return None
        trace = Trace(run.trace_id, new_span_id())
        try:
            described = self._describe(step, run)
        except AbiError as exc:
            return await self._failed(
                run, step, exc, trace=trace, record=None, attempts=0, started=time.perf_counter()
            )
        opening = asyncio.ensure_future(
            asyncio.to_thread(self._open_step, run, step, described, trace)
        )
        try:
            record = await asyncio.shield(opening)
        except asyncio.CancelledError:  # cancelled (a sibling failed) as the step opens
            record = await opening
            if record is not None:
                await self._close_step(run, record, "cancelled", attempts=0)
            raise
        if record is None:
            raise RunCancelled(f"run {run.run_id} was cancelled")
        self._publish(
            run,
            "step.started",
            step_id=step.id,
            kind=step.kind,
            input=described,
            span_id=trace.span_id,
        )
        started = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            try:
                async with asyncio.timeout(step.timeout_seconds):
                    result = await self._dispatch(run, step, trace)
                break
            except asyncio.CancelledError:
                await asyncio.shield(self._close_step(run, record, "cancelled", attempts=attempt))
                raise
            except RunCancelled:
                raise
            except Exception as exc:
                if attempt <= step.retries and not isinstance(exc, StepFailed):
                    delay = step.backoff_seconds * step.backoff_factor ** (attempt - 1)
                    self._publish(
                        run,
                        "step.retry",
                        step_id=step.id,
                        attempt=attempt,
                        delay_seconds=delay,
                        error=_error(exc),
                    )
                    await self.sleep(delay)
                    continue
                return await self._failed(
                    run, step, exc, trace=trace, record=record, attempts=attempt, started=started
                )
        elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
        run.steps[step.id] = {"status": "completed", "output": result.output, "text": result.text}
        if isinstance(step, AgentStep | PluginStep):
            run.usage.add(result.usage)
        outcome = {"attempts": attempt, "output": result.output, "usage": result.usage.to_dict()}
        await self._close_step(run, record, "completed", **outcome)
        await self._save(run, checkpoint=run.steps, usage=run.usage.to_dict())
        self._publish_finished(
            run,
            step,
            trace,
            elapsed_ms=elapsed_ms,
            status="completed",
            meta=result.meta,
            **outcome,
        )
        return result

    async def _failed(
        self,
        run: _Run,
        step: Step,
        exc: BaseException,
        *,
        trace: Trace,
        record: int | None,
        attempts: int,
        started: float,
    ) -> StepResult | None:
        error = exc.error if isinstance(exc, StepFailed) else _error(exc)
        if record is not None:
            await self._close_step(run, record, "failed", attempts=attempts, error=error)
        self._publish_finished(
            run,
            step,
            trace,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
            status="failed",
            attempts=attempts,
            error=error,
        )
        if not step.continue_on_error:
            if isinstance(exc, StepFailed):
                raise exc
            raise StepFailed(
                f"step {step.id!r} failed after {attempts} attempt(s): {error['message']}",
                {**error, "step_id": step.id, "attempts": attempts},
            )
        run.steps[step.id] = {"status": "failed", "output": None, "text": "", "error": error}
        await self._save(run, checkpoint=run.steps)
        return None

    def _describe(self, step: Step, run: _Run) -> Any:
        """The step's resolved input, as recorded (containers record their shape)."""
        context = run.context()
        if isinstance(step, AgentStep):
            return {
                "agent": step.agent,
                "query": _as_text(resolve(step.query, context)),
                "input": resolve(step.input, context),
            }
        if isinstance(step, PluginStep):
            return {
                "plugin": step.plugin,
                "entry": step.entry,
                "input": resolve(step.input, context),
            }
        if isinstance(step, ParallelStep):
            return {"branches": [b.id for b in step.branches], "aggregate": step.aggregate}
        return {"condition": step.condition.model_dump(mode="json")}

    async def _dispatch(self, run: _Run, step: Step, trace: Trace) -> StepResult:
        context = run.context()
        if isinstance(step, AgentStep):
            query = _as_text(resolve(step.query, context))
            return await self.runner.run_agent(
                run.tenant_id, step, query, resolve(step.input, context), trace
            )
        if isinstance(step, PluginStep):
            return await self.runner.run_plugin(
                run.tenant_id, step, resolve(step.input, context), trace
            )
        if isinstance(step, ParallelStep):
            return await self._parallel(run, step)
        chosen = "then" if holds(step.condition, context) else "else"
        last = await self._sequence(run, step.then if chosen == "then" else step.otherwise)
        output = None if last is None else last.output
        return StepResult(output, "" if last is None else last.text, meta={"branch": chosen})

    async def _parallel(self, run: _Run, step: ParallelStep) -> StepResult:
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._step(run, b)) for b in step.branches]
        except* (StepFailed, RunCancelled) as failures:
            raise failures.exceptions[0] from None
        results = [task.result() for task in tasks]
        texts = [r.text for r in results if r is not None]
        outputs = [None if r is None else r.output for r in results]
        aggregated: Any
        if step.aggregate == "list":
            aggregated = outputs
        elif step.aggregate == "concat":
            aggregated = "\n".join(texts)
        else:
            aggregated = {b.id: out for b, out in zip(step.branches, outputs, strict=True)}
        usage = AgentUsage()
        for r in results:
            if r is not None:
                usage.add(r.usage)
        return StepResult(aggregated, "\n".join(texts), usage)
