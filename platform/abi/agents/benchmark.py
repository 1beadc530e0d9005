"""``abi bench agents``: retrieval-backend query throughput over a large memory and router
decision time with many agents, in process, with same-run baselines.

Retrieval: one agent whose memory holds ``passages`` synthetic passages (a 5,000-word
vocabulary, 12 words each); queries are 6 words of a random passage. Measured: the full
agent query (registry lookup, balancer, embedding, WDBX search, answer) from 1 and from
``threads`` threads, against its own parts alone in the same run (embedding one text; the
WDBX search of a ready vector). WDBX's query cache is off, so every query is searched. Hit@1
checks the query finds its passage.

Router: ``agents`` agents of one tenant (a description and 3 examples each, random
capabilities); decisions for ``queries`` requests with 0-2 required capabilities. Measured:
``Router.route`` alone and ``AgentService.route`` (plus capability parsing and the check that
the index matches the store), against embedding the request alone.
"""

from __future__ import annotations

import contextlib
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from abi.agents.capabilities import CAPABILITY_NAMES, parse_capabilities
from abi.config import load_settings
from abi.errors import NotFound
from abi.runtime import Platform

SEED_TARGET_QPS = 10_000
ROUTER_TARGET_P99_MS = 2.0


def vocabulary(rng: random.Random, size: int = 5_000) -> list[str]:
    syllables = ["ka", "lo", "mi", "ta", "ne", "ro", "su", "vi", "de", "po", "ga", "ly", "zu", "he"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def _timed(func: Callable[[], Any], count: int) -> list[float]:
    """Per-call milliseconds of ``count`` calls."""
    out = []
    for _ in range(count):
        started = time.perf_counter()
        func()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _alternated(
    funcs: dict[str, Callable[[], Any]], count: int, rounds: int = 3
) -> dict[str, list[list[float]]]:
    """Per-call milliseconds of every function, measured in ``rounds`` alternating rounds
    of ``count // rounds`` calls (this machine's speed drifts: compare within a run)."""
    out: dict[str, list[list[float]]] = {name: [] for name in funcs}
    for _ in range(rounds):
        for name, func in funcs.items():
            out[name].append(_timed(func, max(1, count // rounds)))
    return out


def _median_of(rounds: list[list[float]], stat: Callable[[list[float]], float]) -> float:
    """The median over rounds of ``stat`` of each round (robust to one noisy round)."""
    return round(statistics.median(stat(samples) for samples in rounds), 4)


def _p50(samples: list[float]) -> float:
    return float(np.percentile(samples, 50))


def _p99(samples: list[float]) -> float:
    return float(np.percentile(samples, 99))


def fill_memory(platform: Platform, tenant: str, passages: list[str]) -> float:
    started = time.perf_counter()
    for start in range(0, len(passages), 10_000):
        chunk = passages[start : start + 10_000]
        platform.agents.remember(
            tenant, "memory", [{"text": t, "source": f"p{start + i}"} for i, t in enumerate(chunk)]
        )
    return time.perf_counter() - started


def retrieval_figures(
    platform: Platform, passages: int, queries: int, threads: int, rng: random.Random
) -> dict[str, Any]:
    words = vocabulary(rng)
    texts = [" ".join(rng.choices(words, k=12)) for _ in range(passages)]
    tenant = platform.tenants.create("bench-retrieval").id
    platform.agents.registry.create(
        tenant,
        {
            "name": "memory",
            "capabilities": ["vector_search"],
            "memory": {"collection": "bench-memory"},
            "backend": {"kind": "retrieval", "top_k": 5},
        },
    )
    fill_s = fill_memory(platform, tenant, texts)
    picks = [rng.randrange(passages) for _ in range(queries)]
    asks = [" ".join(texts[i].split()[3:9]) for i in picks]
    embedder, vectors = platform.embedder, platform.vectors
    ready = embedder.embed(asks)
    service = platform.agents
    hits = sum(
        service.query(tenant, "memory", ask)["sources"][0]["source"] == f"p{i}"
        for ask, i in zip(asks[:200], picks[:200], strict=True)
    )
    cursor = iter(range(1 << 30))

    def nxt() -> int:
        return next(cursor) % queries

    timed = _alternated(
        {
            "embed": lambda: embedder.embed([asks[nxt()]]),
            "search": lambda: vectors.search(
                tenant, "bench-memory", ready[nxt()], k=5, with_payloads=True
            ),
            "query": lambda: service.query(tenant, "memory", asks[nxt()]),
        },
        queries,
    )
    embed_avg = _median_of(timed["embed"], statistics.fmean)
    search_avg = _median_of(timed["search"], statistics.fmean)
    query_avg = _median_of(timed["query"], statistics.fmean)
    with ThreadPoolExecutor(threads) as pool:
        started = time.perf_counter()
        list(pool.map(lambda a: service.query(tenant, "memory", a), asks))
        parallel_s = time.perf_counter() - started
    query_qps = 1000 / query_avg
    return {
        "passages": passages,
        "memory_fill_seconds": round(fill_s, 2),
        "hit_at_1": round(hits / min(200, queries), 4),
        "embed_only_per_s": round(1000 / embed_avg, 1),
        "search_only_per_s": round(1000 / search_avg, 1),
        "query_per_s": round(query_qps, 1),
        "query_avg_ms": query_avg,
        "query_p99_ms": _median_of(timed["query"], _p99),
        f"query_per_s_{threads}_threads": round(queries / parallel_s, 1),
        "query_vs_search_only": round(search_avg / query_avg, 4),
        "query_vs_seed_target": round(max(query_qps, queries / parallel_s) / SEED_TARGET_QPS, 4),
    }


def router_figures(
    platform: Platform, agents: int, queries: int, rng: random.Random
) -> dict[str, Any]:
    words = vocabulary(rng, 3_000)
    tenant = platform.tenants.create("bench-router").id
    topics = [rng.choices(words, k=6) for _ in range(agents)]
    started = time.perf_counter()
    for i, topic in enumerate(topics):
        platform.agents.registry.create(
            tenant,
            {
                "name": f"agent-{i}",
                "persona": {
                    "description": " ".join(topic),
                    "examples": [" ".join(rng.sample(topic, 4)) for _ in range(3)],
                },
                "capabilities": rng.sample(CAPABILITY_NAMES, rng.randint(2, 6)),
            },
        )
    create_s = time.perf_counter() - started
    asks = [" ".join(rng.sample(topics[rng.randrange(agents)], 3)) for _ in range(queries)]
    needs = [rng.sample(CAPABILITY_NAMES[:6], rng.randint(0, 2)) for _ in range(queries)]
    flags = [parse_capabilities(n) for n in needs]
    service, router = platform.agents, platform.agents.router
    service.route(tenant, asks[0])
    cursor = iter(range(1 << 30))

    def nxt() -> int:
        return next(cursor) % queries

    def decide() -> None:
        i = nxt()
        with contextlib.suppress(NotFound):  # no capable agent: still a decision
            router.route(tenant, asks[i], flags[i])

    def serve() -> None:
        i = nxt()
        with contextlib.suppress(NotFound):
            service.route(tenant, asks[i], needs[i])

    timed = _alternated(
        {
            "embed": lambda: platform.embedder.embed([asks[nxt()]]),
            "router": decide,
            "service": serve,
        },
        queries,
    )
    p99 = _median_of(timed["router"], _p99)
    embed_p99 = _median_of(timed["embed"], _p99)
    return {
        "agents": agents,
        "agents_create_seconds": round(create_s, 2),
        "embed_only_p99_ms": embed_p99,
        "decision_p50_ms": _median_of(timed["router"], _p50),
        "decision_p99_ms": p99,
        "service_route_p99_ms": _median_of(timed["service"], _p99),
        "decision_p99_vs_embed_only": round(p99 / embed_p99, 3),
        "decision_p99_vs_target": round(p99 / ROUTER_TARGET_P99_MS, 4),
    }


def jargon_feedback(
    rng: random.Random, agents: int = 12, per_agent: int = 40
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Agents whose personas use one vocabulary while their users ask in another (the
    case persona similarity cannot learn and routing feedback can): agent definitions and
    (request, agent name) feedback. A request has 3 words of its agent's user jargon, one
    persona word a third of the time, and one word of noise."""
    words = vocabulary(rng, agents * 12 + 200)
    rng.shuffle(words)
    noise = words[agents * 12 :]
    definitions, feedback = [], []
    for i in range(agents):
        persona, jargon = words[i * 12 : i * 12 + 6], words[i * 12 + 6 : i * 12 + 12]
        name = f"team-{i}"
        definitions.append({"name": name, "persona": {"description": " ".join(persona)}})
        for _ in range(per_agent):
            parts = [*rng.sample(jargon, 3), rng.choice(noise)]
            if rng.random() < 1 / 3:
                parts.append(rng.choice(persona))
            rng.shuffle(parts)
            feedback.append((" ".join(parts), name))
    rng.shuffle(feedback)
    return definitions, feedback


def learned_router_figures(platform: Platform, rng: random.Random) -> dict[str, Any]:
    """Held-out accuracy of the learned router against similarity-only routing."""
    definitions, feedback = jargon_feedback(rng)
    tenant = platform.tenants.create("bench-learned").id
    for definition in definitions:
        platform.agents.registry.create(tenant, definition)
    platform.agents.record_feedback(tenant, feedback)
    started = time.perf_counter()
    report = platform.agents.train_router(tenant, holdout=0.25)
    return {
        **report.to_dict(),
        "train_seconds": round(time.perf_counter() - started, 2),
        "chance_accuracy": round(1 / report.agents, 4),
    }


def run_benchmark(
    passages: int = 100_000,
    agents: int = 1_000,
    queries: int = 2_000,
    threads: int = 4,
    seed: int = 7,
) -> dict[str, Any]:
    """Every figure of the agents suite (see the module docstring)."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="abi-bench-agents-") as tmp:
        settings = load_settings(
            environ={},
            overrides={
                "data_dir": Path(tmp),
                "vectors": {"fsync": "never", "query_cache_entries": 0},
            },
        )
        with Platform(settings) as platform:
            return {
                "router": router_figures(platform, agents, queries, rng),
                "learned_router": learned_router_figures(platform, rng),
                "retrieval": retrieval_figures(platform, passages, queries, threads, rng),
            }
