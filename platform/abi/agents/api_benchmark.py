"""Agent queries through the API: ``POST /api/v1/agents/{id}/query`` (retrieval backend) on
``abi serve`` settings with several worker processes, driven by wrk on loopback, against an
authenticated ``GET /api/v1/health`` on the same server in the same run."""

from __future__ import annotations

import dataclasses
import json
import random
import tempfile
from pathlib import Path
from typing import Any

from abi.config import load_settings
from abi.runtime import Platform
from abi.server.benchmark import ServerProcess, run_wrk

LUA = """
local queries = %s
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %s"}
request = function()
  local body = '{"query": "' .. queries[math.random(#queries)] .. '"}'
  return wrk.format("POST", "%s", headers, body)
end
"""


def run_api_benchmark(
    passages: int = 100_000,
    workers: int = 2,
    connections: int = 32,
    seconds: float = 10.0,
    seed: int = 7,
) -> dict[str, Any]:
    """Figures of agent queries over HTTP (see the module docstring)."""
    from abi.agents.benchmark import SEED_TARGET_QPS, fill_memory, vocabulary

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="abi-bench-agents-api-") as tmp:
        root = Path(tmp)
        settings = load_settings(
            environ={},
            overrides={
                "data_dir": root / "data",
                "server": {
                    "workers": workers,
                    "access_log": False,
                    "rate_limit_per_minute": 10**9,
                    "rate_limit_burst": 10**9,
                },
                "vectors": {"fsync": "never", "query_cache_entries": 0},
                "observability": {"log_level": "warning"},
            },
        )
        words = vocabulary(rng)
        texts = [" ".join(rng.choices(words, k=12)) for _ in range(passages)]
        with Platform(settings) as platform:
            issued = platform.security.create_tenant("bench", actor="bench")
            tenant = issued.tenant.id
            agent = platform.agents.registry.create(
                tenant,
                {
                    "name": "memory",
                    "memory": {"collection": "bench-memory"},
                    "backend": {"kind": "retrieval", "top_k": 5},
                },
            )
            fill_s = fill_memory(platform, tenant, texts)
            token = platform.security.tokens.issue(issued.client, "agents:write agents:read")[
                "access_token"
            ]
        asks = [" ".join(texts[rng.randrange(passages)].split()[3:9]) for _ in range(500)]
        script = root / "query.lua"
        path = f"/api/v1/agents/{agent.id}/query"
        script.write_text(LUA % ("{" + ",".join(json.dumps(a) for a in asks) + "}", token, path))
        server = ServerProcess(settings, "abi", root / "server.log")
        try:
            server.wait_ready(120)
            common = ["-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
            run_wrk([*common, "-s", str(script), server.url + path])  # warm-up: indexes load
            health = dataclasses.asdict(
                run_wrk(
                    [*common, "-H", f"Authorization: Bearer {token}", server.url + "/api/v1/health"]
                )
            )
            query = dataclasses.asdict(run_wrk([*common, "-s", str(script), server.url + path]))
        finally:
            server.stop()
    return {
        "passages": passages,
        "workers": workers,
        "connections": connections,
        "memory_fill_seconds": round(fill_s, 2),
        "query": query,
        "health_baseline": health,
        "query_vs_health": round(query["requests_per_second"] / health["requests_per_second"], 4),
        "query_vs_seed_target": round(query["requests_per_second"] / SEED_TARGET_QPS, 4),
    }
