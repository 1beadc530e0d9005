"""The agents component (``platform.agents``): registry, router, replicas, discovery, bus,
conversations, backends and workflows, wired together.

Async work (backends, workflow runs, health checks) runs on the service's own event loop
thread; every operation has a sync form (CLI, library use) and queries and workflow runs an
async form for callers on another loop (the server). In-memory indexes (router, service
directory) follow the registry through its change notifications and, for changes made by
other processes sharing the store, through a per-tenant fingerprint checked on use.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import httpx
import numpy as np

from abi.agents.backends.base import Backend, PluginRunner
from abi.agents.backends.llm import LlmAgentBackend
from abi.agents.backends.plugin import PluginAgentBackend
from abi.agents.backends.retrieval import RetrievalAgentBackend
from abi.agents.bus import AgentBus
from abi.agents.capabilities import parse_capabilities
from abi.agents.conversations import ConversationStore
from abi.agents.discovery import Provider, ServiceDirectory
from abi.agents.feedback import FeedbackStore
from abi.agents.learned import LearnedRouter, TrainingReport
from abi.agents.loop import LoopThread
from abi.agents.memory import VectorMemory, VectorStoreLike
from abi.agents.querying import QueryEngine, QueryOptions
from abi.agents.registry import AgentRegistry, SecretBox
from abi.agents.replicas import ReplicaPool
from abi.agents.router import RouteDecision, Router, TextEmbedder
from abi.agents.spec import MemorySpec
from abi.agents.steps import ServiceSteps
from abi.agents.tables import MIGRATIONS
from abi.agents.tracing import trace_id_from
from abi.agents.workflows.engine import WorkflowEngine
from abi.agents.workflows.registry import WorkflowRegistry
from abi.agents.workflows.runs import FINISHED, RunStore, new_run_id
from abi.compute import Compute
from abi.config import Settings
from abi.errors import Conflict, InvalidInput, RateLimited, Unavailable
from abi.events import EventBus
from abi.observability.tracing import current_trace_id
from abi.store import Database

__all__ = ["MIGRATIONS", "AgentService"]
log = logging.getLogger("abi.agents")


class AgentService:
    """Agents and workflows of every tenant."""

    name = "agents"

    def __init__(
        self,
        settings: Settings,
        db: Database,
        events: EventBus,
        embedder: TextEmbedder,
        *,
        secrets: SecretBox | None = None,
        plugins: PluginRunner | None = None,
        vectors: VectorStoreLike | None = None,
        compute: Compute | None = None,
    ) -> None:
        config = settings.agents
        self.settings = settings
        self.plugins = plugins
        self.registry = AgentRegistry(db, secrets)
        self.conversations = ConversationStore(db, config.conversation_turns)
        self.replicas = ReplicaPool(config.circuit_failure_threshold, config.circuit_reset_seconds)
        self.feedback = FeedbackStore(db)
        self.learned = (
            LearnedRouter(compute, settings.data_dir / "agents" / "router")
            if compute is not None
            else None
        )
        self.router = Router(
            embedder,
            self.replicas.load,
            load_weight=config.router_load_weight,
            scorer=self.learned,
        )
        self.discovery = ServiceDirectory()
        self.bus = AgentBus(events)
        self.memory = VectorMemory(vectors, embedder) if vectors is not None else None
        self.workflows = WorkflowRegistry(db)
        self.runs = RunStore(db)
        self.engine = WorkflowEngine(ServiceSteps(self), self.runs, events)
        self.loop = LoopThread("abi-agents")
        self.http: httpx.AsyncClient | None = None
        self.queries = QueryEngine({}, self.conversations, self.replicas, events)
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._fingerprints: dict[str, tuple[int, str]] = {}
        self._synced_at: dict[str, float] = {}
        self.sync_seconds = 1.0
        """How stale another process's agent changes may be in this process's indexes."""
        self._sync_lock = threading.Lock()
        for listener in (self.router.on_change, self.discovery.on_change, self.replicas.on_change):
            self.registry.subscribe(listener)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self.loop.start()
        self.http = self.loop.run(_make_http(self.settings.agents.llm_timeout_seconds))
        backends: dict[str, Backend] = {
            "llm": LlmAgentBackend(
                self.http,
                self.registry.api_key,
                self.plugins,
                self.memory,
                self.settings.agents.llm_timeout_seconds,
            )
        }
        if self.plugins is not None:
            backends["plugin"] = PluginAgentBackend(self.plugins)
        if self.memory is not None:
            backends["retrieval"] = RetrievalAgentBackend(self.memory)
        self.queries.backends = backends
        if self.learned is not None:
            self.learned.load_all()
        agents = self.registry.list_all()
        self.router.load_agents(agents)
        self.discovery.load(agents)
        self.loop.submit(self._health_loop())

    def stop(self) -> None:
        self.engine.stopping = True
        http = self.http
        if http is not None and self.loop.loop is not None:
            self.loop.run(http.aclose())
        self.loop.stop()
        self.http = None

    def health(self) -> dict[str, Any]:
        return {
            "ok": self.loop.loop is not None and self.loop.loop.is_running(),
            "running_workflows": len(self._tasks),
            "backends": sorted(self.queries.backends),
        }

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.agents.health_check_seconds)
            if self.http is not None:
                try:
                    await self.replicas.check_health(self.http)
                except Exception:
                    log.exception("replica health check failed")

    # -- agents ----------------------------------------------------------------------------

    def sync_tenant(self, tenant_id: str) -> None:
        """Re-index the tenant's agents when another process changed them (checked at most
        every ``sync_seconds``; this process's own changes apply at once)."""
        now = time.monotonic()
        if now - self._synced_at.get(tenant_id, -1e9) < self.sync_seconds:
            return
        self._synced_at[tenant_id] = now
        fingerprint = self.registry.fingerprint(tenant_id)
        if self._fingerprints.get(tenant_id) == fingerprint:
            return
        with self._sync_lock:
            agents = self.registry.list(tenant_id)
            known = {a.id for a in agents}
            for stale in set(self.router.agent_ids(tenant_id)) - known:
                self.router.on_change(tenant_id, stale, None)
                self.discovery.on_change(tenant_id, stale, None)
            self.router.load_agents(agents)
            self.discovery.load(agents)
            self._fingerprints[tenant_id] = fingerprint

    def route(
        self,
        tenant_id: str,
        text: str,
        capabilities: list[str] | tuple[str, ...] = (),
        *,
        learned: bool = True,
    ) -> RouteDecision:
        """The agent the router picks for ``text`` among those with ``capabilities``
        (with the tenant's learned model when it has one and ``learned``)."""
        required = parse_capabilities(capabilities)
        self.sync_tenant(tenant_id)
        return self.router.route(tenant_id, text, required, learned=learned)

    def record_feedback(self, tenant_id: str, examples: list[tuple[str, str]]) -> int:
        """Record which agent (id or name) should answer each request text."""
        resolved = [(text, self.registry.get(tenant_id, ref).id) for text, ref in examples]
        return self.feedback.add(tenant_id, resolved)

    def train_router(self, tenant_id: str, holdout: float = 0.2) -> TrainingReport:
        """Train the tenant's learned router on its feedback (for agents that still exist)
        and compare it with similarity-only routing on the held-out part."""
        if self.learned is None:
            raise Unavailable(
                "the learned router needs the compute layer", code="agents.no_compute"
            )
        self.sync_tenant(tenant_id)
        known = set(self.router.agent_ids(tenant_id))
        examples = [(t, a) for t, a in self.feedback.all(tenant_id) if a in known]
        texts = [text for text, _ in examples]
        vectors = self.router.embedder.embed(texts) if texts else None

        def similarity(i: int) -> str | None:
            return self.router.route(tenant_id, texts[i], learned=False).agent_id

        return self.learned.train(
            tenant_id,
            vectors if vectors is not None else np.zeros((0, self.router.embedder.dim), np.float32),
            [agent for _, agent in examples],
            holdout=holdout,
            similarity=similarity,
        )

    def find_providers(
        self, tenant_id: str, service: str, capabilities: list[str] | tuple[str, ...] = ()
    ) -> list[Provider]:
        """Agents offering ``service`` with every capability named."""
        required = parse_capabilities(capabilities)
        self.sync_tenant(tenant_id)
        return self.discovery.find(tenant_id, service, required)

    def remember(self, tenant_id: str, ref: str, passages: list[dict[str, Any]]) -> list[Any]:
        """Embed and store passages in the agent's memory collection."""
        agent = self.registry.get(tenant_id, ref)
        if agent.spec.memory is None:
            raise InvalidInput(
                f"agent {agent.name!r} has no memory; set memory.collection in its definition",
                code="agents.no_memory",
            )
        if self.memory is None:
            raise InvalidInput("this platform has no vector database", code="agents.no_memory")
        return self.memory.remember(tenant_id, agent.spec.memory, passages)

    def memory_spec(self, tenant_id: str, ref: str) -> MemorySpec | None:
        return self.registry.get(tenant_id, ref).spec.memory

    async def _query(
        self, tenant_id: str, ref: str, text: str, opts: QueryOptions
    ) -> dict[str, Any]:
        agent = self.registry.cached(tenant_id, ref)
        if agent is None:
            agent = await asyncio.to_thread(self.registry.get_cached, tenant_id, ref)
        return await self.queries.query(tenant_id, agent, text, opts)

    def query(self, tenant_id: str, ref: str, text: str, **options: Any) -> dict[str, Any]:
        """Ask agent ``ref`` (id or name); options: conversation_id, input, stream,
        query_id, trace_id. Blocks until the answer is complete."""
        return self.loop.run(self._query(tenant_id, ref, text, QueryOptions(**options)))

    async def aquery(self, tenant_id: str, ref: str, text: str, **options: Any) -> dict[str, Any]:
        """:meth:`query` for callers on another event loop."""
        return await self.loop.run_async(self._query(tenant_id, ref, text, QueryOptions(**options)))

    # -- workflow runs ---------------------------------------------------------------------

    def create_run(self, tenant_id: str, ref: str, run_input: Any, trace_id: str | None) -> str:
        """Record a pending run of workflow ``ref`` (started by :meth:`resume_run`, or
        by :meth:`start_run` which creates and starts one)."""
        if len(self._tasks) >= self.settings.agents.max_running_workflows:
            raise RateLimited(
                "too many workflow runs in progress on this node; retry shortly",
                retry_after=1.0,
                code="workflows.too_many_runs",
            )
        workflow = self.workflows.get(tenant_id, ref)
        run_id = new_run_id()
        self.runs.create(
            tenant_id,
            run_id,
            workflow_id=workflow.id,
            version=workflow.version,
            definition=workflow.spec.model_dump(mode="json", by_alias=True),
            run_input=run_input,
            trace_id=trace_id_from(trace_id or current_trace_id()),
        )
        return run_id

    async def _launch(self, tenant_id: str, run_id: str) -> asyncio.Task[dict[str, Any]]:

        async def execute() -> dict[str, Any]:
            try:
                return await self.engine.execute(tenant_id, run_id)
            finally:
                self._tasks.pop(run_id, None)

        task = asyncio.get_running_loop().create_task(execute(), name=f"workflow-{run_id}")
        self._tasks[run_id] = task
        return task

    def start_run(
        self, tenant_id: str, ref: str, run_input: Any = None, trace_id: str | None = None
    ) -> dict[str, Any]:
        """Start a run of workflow ``ref`` in the background; returns the run as created.
        Its steps stream on the tenant topic ``workflows.<run_id>``."""
        run_id = self.create_run(tenant_id, ref, run_input, trace_id)
        self.loop.run(self._launch(tenant_id, run_id))
        return self.runs.get(tenant_id, run_id)

    def run_workflow(
        self, tenant_id: str, ref: str, run_input: Any = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Run workflow ``ref`` to its end and return the recorded run."""
        run_id = self.create_run(tenant_id, ref, run_input, None)

        async def run() -> dict[str, Any]:
            return await (await self._launch(tenant_id, run_id))

        return self.loop.run(run(), timeout)

    async def wait_run(self, tenant_id: str, run_id: str) -> dict[str, Any]:
        """The run once it has finished (awaitable from any event loop); a run executing in
        another process is polled."""

        async def waiter() -> dict[str, Any]:
            task = self._tasks.get(run_id)
            if task is not None:
                await asyncio.wait([task])
            while True:
                run = await asyncio.to_thread(self.runs.get, tenant_id, run_id)
                if run["status"] in FINISHED:
                    return run
                await asyncio.sleep(0.1)

        return await self.loop.run_async(waiter())

    def resume_run(self, tenant_id: str, run_id: str) -> dict[str, Any]:
        """Continue a run that a stopped process left unfinished, from its checkpoint (the
        steps it finished are not run again)."""
        run = self.runs.get(tenant_id, run_id)
        if run["status"] in FINISHED:
            raise Conflict(
                f"run {run_id} already finished ({run['status']})", code="workflows.finished"
            )
        if run_id in self._tasks:
            raise Conflict(f"run {run_id} is running here", code="workflows.running")
        self.loop.run(self._launch(tenant_id, run_id))
        return self.runs.get(tenant_id, run_id)

    def cancel_run(self, tenant_id: str, run_id: str) -> dict[str, Any]:
        """Cancel a pending or running run (here, or in another process at its next step)."""
        run = self.runs.get(tenant_id, run_id)
        if run["status"] in FINISHED:
            raise Conflict(
                f"run {run_id} already finished ({run['status']})", code="workflows.finished"
            )
        task = self._tasks.get(run_id)
        if task is not None and self.loop.loop is not None:

            async def cancel() -> None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

            self.loop.run(cancel())
        else:
            self.runs.update(
                tenant_id,
                run_id,
                status="cancelled",
                error={"code": "workflows.cancelled", "message": "the run was cancelled"},
            )
        return self.runs.get(tenant_id, run_id)


async def _make_http(timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=200))
