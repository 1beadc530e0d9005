"""The learned router: trained on routing feedback with the neural library, compared with
similarity-only routing on held-out requests, used by the router, saved and reloaded."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from abi.agents.benchmark import jargon_feedback
from abi.agents.learned import LearnedRouter
from abi.errors import InvalidInput
from abi.runtime import Platform
from helpers.agents_api import api_client


@pytest.fixture
def trained(platform: Platform) -> tuple[str, list[tuple[str, str]]]:
    assert platform.agents.learned is not None
    platform.agents.learned.epochs = 8
    platform.agents.learned.hidden = 32
    definitions, feedback = jargon_feedback(random.Random(3), agents=5, per_agent=16)
    tenant = platform.tenants.create("learned").id
    for definition in definitions:
        platform.agents.registry.create(tenant, definition)
    platform.agents.record_feedback(tenant, feedback)
    return tenant, feedback


def test_learned_router_beats_similarity_on_held_out_feedback(
    platform: Platform, trained: tuple[str, list[tuple[str, str]]]
) -> None:
    tenant, feedback = trained
    report = platform.agents.train_router(tenant, holdout=0.25)
    assert report.examples == len(feedback) and report.held_out == 20
    assert report.learned_accuracy is not None and report.similarity_accuracy is not None
    assert report.learned_accuracy >= 0.9
    assert report.learned_accuracy > report.similarity_accuracy + 0.3


def test_route_uses_the_learned_model_once_trained(
    platform: Platform, trained: tuple[str, list[tuple[str, str]]]
) -> None:
    tenant, feedback = trained
    text, expected = feedback[0]
    assert platform.agents.route(tenant, text).mode == "similarity"
    platform.agents.train_router(tenant, holdout=0.0)
    decision = platform.agents.route(tenant, text)
    assert decision.mode == "learned" and decision.agent_name == expected
    assert platform.agents.route(tenant, text, learned=False).mode == "similarity"


def test_saved_model_is_reloaded(
    platform: Platform, trained: tuple[str, list[tuple[str, str]]]
) -> None:
    tenant, feedback = trained
    learned = platform.agents.learned
    assert learned is not None
    learned.train(
        tenant,
        platform.embedder.embed([t for t, _ in feedback]),
        [a for _, a in feedback],
        holdout=0.0,
    )
    fresh = LearnedRouter(platform.compute, learned.root)
    assert fresh.load_all() == 1
    query = platform.embedder.embed([feedback[0][0]])[0]
    ids = sorted({a for _, a in feedback})
    assert fresh.scores(tenant, query, ids) == pytest.approx(learned.scores(tenant, query, ids))


def test_too_little_feedback_is_refused(platform: Platform) -> None:
    tenant = platform.tenants.create("sparse").id
    platform.agents.registry.create(tenant, {"name": "solo"})
    platform.agents.record_feedback(tenant, [("hello", "solo")])
    with pytest.raises(InvalidInput) as caught:
        platform.agents.train_router(tenant)
    assert caught.value.code == "agents.not_enough_feedback"


def test_feedback_training_and_learned_routing_through_the_api(
    live_server: Any, tenant_factory: Callable[[str], Any]
) -> None:
    learned = live_server.platform.agents.learned
    assert learned is not None
    learned.epochs, learned.hidden = 8, 32
    definitions, feedback = jargon_feedback(random.Random(3), agents=5, per_agent=16)
    with api_client(live_server.url, tenant_factory("learned-api").headers()) as api:
        for definition in definitions:
            assert api.post("/agents", json=definition).status_code == 201
        examples = [{"query": text, "agent": agent} for text, agent in feedback]
        recorded = api.post("/route/feedback", json={"examples": examples})
        assert recorded.status_code == 201, recorded.text
        assert recorded.json() == {"recorded": len(feedback)}
        trained = api.post("/route/train", json={"holdout": 0.25})
        assert trained.status_code == 200, trained.text
        assert trained.json()["held_out"] == 20
        text, expected = feedback[0]
        decision = api.post("/route", json={"query": text}).json()
        assert (decision["mode"], decision["agent_name"]) == ("learned", expected)
        plain = api.post("/route", json={"query": text, "learned": False}).json()
        assert plain["mode"] == "similarity"


def test_feedback_naming_an_unknown_agent_is_refused_through_the_api(
    live_server: Any, tenant_factory: Callable[[str], Any]
) -> None:
    with api_client(live_server.url, tenant_factory("learned-bad").headers()) as api:
        reply = api.post("/route/feedback", json={"examples": [{"query": "hi", "agent": "nobody"}]})
        assert reply.status_code == 404, reply.text
