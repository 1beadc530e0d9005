"""The router: capability constraint, persona similarity, load, explanations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from abi.agents.capabilities import Capability
from abi.agents.registry import Agent
from abi.agents.router import Router
from abi.agents.spec import AgentSpec
from abi.errors import NotFound
from abi.neural.embedders import HashingEmbedder

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def make_agent(name: str, tenant: str = "t1", **spec: Any) -> Agent:
    return Agent(f"id-{name}", tenant, name, 1, AgentSpec(name=name, **spec), False, NOW, NOW)


BILLING = make_agent(
    "billing",
    persona={
        "description": "invoices payments refunds and billing disputes",
        "examples": ["why was my card charged twice", "send me last month's invoice"],
    },
    capabilities=["text_generation"],
)
CODER = make_agent(
    "coder",
    persona={
        "description": "writes and reviews python code",
        "examples": ["fix this python function", "write a unit test for my parser"],
    },
    capabilities=["text_generation", "code_generation"],
)


@pytest.fixture
def router() -> Router:
    r = Router(HashingEmbedder(256))
    r.load_agents([BILLING, CODER])
    return r


def test_routes_by_persona_similarity(router: Router) -> None:
    assert router.route("t1", "please send the invoice for march").agent_name == "billing"
    assert router.route("t1", "my python function throws").agent_name == "coder"


def test_required_capabilities_are_a_hard_constraint(router: Router) -> None:
    decision = router.route("t1", "send me the invoice", Capability.CODE_GENERATION)
    assert decision.agent_name == "coder"
    assert decision.eligible == 1
    assert decision.considered == 2


def test_no_capable_agent_is_not_found(router: Router) -> None:
    with pytest.raises(NotFound) as caught:
        router.route("t1", "plan my week", Capability.PLANNING)
    assert caught.value.code == "agents.no_capable_agent"


def test_other_tenants_agents_are_invisible(router: Router) -> None:
    with pytest.raises(NotFound):
        router.route("t2", "send me the invoice")


def test_load_penalty_moves_requests_to_an_idle_agent() -> None:
    twin = make_agent(
        "billing-2", persona=BILLING.spec.persona.model_dump(), capabilities=["text_generation"]
    )
    loads = {BILLING.id: 50, twin.id: 0}
    router = Router(HashingEmbedder(256), lambda _t, a: loads.get(a, 0), load_weight=0.1)
    router.load_agents([BILLING, twin])
    decision = router.route("t1", "why was my card charged twice")
    assert decision.agent_name == "billing-2"
    assert decision.candidates[1].load == 50


def test_decision_explains_itself(router: Router) -> None:
    decision = router.route("t1", "why was my card charged twice")
    body = decision.to_dict()
    assert body["candidates"][0]["best_match"] == "why was my card charged twice"
    assert "billing" in body["explanation"]
    assert "runner-up 'coder'" in body["explanation"]
    assert body["mode"] == "similarity"


def test_deleted_agent_leaves_the_index(router: Router) -> None:
    router.on_change("t1", CODER.id, None)
    assert router.route("t1", "fix this python function").agent_name == "billing"
    router.on_change("t1", BILLING.id, None)
    with pytest.raises(NotFound):
        router.route("t1", "anything")


def test_updated_persona_is_re_embedded(router: Router) -> None:
    changed = make_agent(
        "billing",
        persona={"description": "gardening tips for roses"},
        capabilities=["text_generation"],
    )
    router.on_change("t1", changed.id, changed)
    assert router.route("t1", "how do I prune roses").agent_name == "billing"


def test_excluded_agents_are_not_chosen(router: Router) -> None:
    decision = router.route("t1", "send me the invoice", exclude=[BILLING.id])
    assert decision.agent_name == "coder"
