"""The agents subsystem's tables (component ``agents``) and their migration chain.

Every table holds tenant data and is read and written through :class:`abi.store.TenantScope`.
"""

from __future__ import annotations

import sqlalchemy as sa

from abi.store import Migration, metadata
from abi.store.migrations import create_tables
from abi.store.types import UTCDateTime

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("secret", sa.LargeBinary, nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("tenant_id", "name", name="uq_agents_tenant_name"),
)
"""The current definition of each agent; ``secret`` is the encrypted LLM API key."""

agent_versions = sa.Table(
    "agent_versions",
    metadata,
    sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
    sa.Column("agent_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)
"""Every definition an agent has had (the current one included)."""

conversation_messages = sa.Table(
    "agent_conversation_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("conversation_id", sa.String(128), nullable=False),
    sa.Column("agent_id", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_agent_conversations_tenant_conv", "tenant_id", "conversation_id", "id"),
)

workflows = sa.Table(
    "workflows",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("tenant_id", "name", name="uq_workflows_tenant_name"),
)

workflow_runs = sa.Table(
    "workflow_runs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
    sa.Column("workflow_id", sa.String(64), nullable=False, index=True),
    sa.Column("workflow_version", sa.Integer, nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("input", sa.JSON, nullable=True),
    sa.Column("output", sa.JSON, nullable=True),
    sa.Column("error", sa.JSON, nullable=True),
    sa.Column("checkpoint", sa.JSON, nullable=False),
    sa.Column("usage", sa.JSON, nullable=False),
    sa.Column("trace_id", sa.String(32), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
)
"""One execution of a workflow; ``checkpoint`` holds every finished step's output."""

workflow_steps = sa.Table(
    "workflow_run_steps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("step_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("input", sa.JSON, nullable=True),
    sa.Column("output", sa.JSON, nullable=True),
    sa.Column("error", sa.JSON, nullable=True),
    sa.Column("usage", sa.JSON, nullable=False),
    sa.Column("trace_id", sa.String(32), nullable=False),
    sa.Column("span_id", sa.String(16), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Index("ix_workflow_run_steps_run", "tenant_id", "run_id", "id"),
)

routing_feedback = sa.Table(
    "agent_routing_feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("agent_id", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)
"""Which agent should have answered a request: the learned router's training data."""

MIGRATIONS = [
    Migration(
        "agents",
        1,
        "create agents, versions, conversations, workflows and runs",
        create_tables(
            agents, agent_versions, conversation_messages, workflows, workflow_runs, workflow_steps
        ),
    )
]
MIGRATIONS.append(
    Migration("agents", 2, "create routing feedback", create_tables(routing_feedback))
)
