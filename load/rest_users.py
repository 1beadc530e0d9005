"""Locust users for the REST API: a token user and a workload user whose tasks are the
scenarios the fixture prepared (health, vector upsert/search, plugin invoke, agent query)."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fixture import API, Fixture
from locust import FastHttpUser, constant, task

FIXTURE = Fixture.load(Path(os.environ["LOAD_FIXTURE"]))
WAIT_SECONDS = float(os.environ.get("LOAD_WAIT_SECONDS", "0"))
WEIGHTS = {"health": 1, "vector_search": 6, "vector_upsert": 1, "plugin_invoke": 2, "agent": 1}


def _form(fixture: Fixture) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": fixture.client_id,
        "client_secret": fixture.client_secret,
    }


class TokenUser(FastHttpUser):
    """Exchanges client credentials for tokens: the OAuth2 endpoint under load."""

    host = FIXTURE.base_url
    wait_time = constant(WAIT_SECONDS)
    weight = 1

    @task
    def token(self) -> None:
        self.client.post(f"{API}/oauth/token", data=_form(FIXTURE), name="/oauth/token")


class ApiUser(FastHttpUser):
    """Holds one token and runs the prepared scenarios with fixed weights."""

    host = FIXTURE.base_url
    wait_time = constant(WAIT_SECONDS)
    weight = 8

    def on_start(self) -> None:
        self._refresh()

    def _refresh(self) -> None:
        with self.client.post(
            f"{API}/oauth/token", data=_form(FIXTURE), name="/oauth/token", catch_response=True
        ) as response:
            body: Any = response.json() if response.status_code == 200 else None
            if not body:
                response.failure(f"token refused: {response.status_code}")
                self.headers: dict[str, str] = {}
                return
            self.headers = {"Authorization": f"Bearer {body['access_token']}"}

    def _call(self, method: str, path: str, name: str, **kwargs: Any) -> None:
        with self.client.request(
            method, path, headers=self.headers, name=name, catch_response=True, **kwargs
        ) as response:
            if response.status_code == 401:
                response.failure("token expired; refreshing")
                self._refresh()
            elif response.status_code >= 400:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")

    def health(self) -> None:
        self._call("GET", f"{API}/health?probe=live", "/health?probe=live")

    def vector_search(self) -> None:
        spec = FIXTURE.scenarios["vector_search"]
        vector = [random.random() for _ in range(spec["dimension"])]
        self._call("POST", spec["path"], spec["name"], json={**spec["body"], "vector": vector})

    def vector_upsert(self) -> None:
        spec = FIXTURE.scenarios["vector_upsert"]
        items = [
            {
                "id": f"load-{random.getrandbits(48)}",
                "vector": [random.random() for _ in range(spec["dimension"])],
                "payload": {"kind": "load"},
            }
        ]
        body = {**spec["body"], spec["items_key"]: items}
        self._call("POST", spec["path"], spec["name"], json=body)

    def plugin_invoke(self) -> None:
        spec = FIXTURE.scenarios["plugin_invoke"]
        self._call("POST", spec["path"], spec["name"], json=spec["body"])

    def agent(self) -> None:
        spec = FIXTURE.scenarios["agent"]
        self._call("POST", spec["path"], spec["name"], json=spec["body"])

    tasks: dict[Callable[..., None], int] = {
        func: WEIGHTS[name]
        for name, func in (
            ("health", health),
            ("vector_search", vector_search),
            ("vector_upsert", vector_upsert),
            ("plugin_invoke", plugin_invoke),
            ("agent", agent),
        )
        if name in FIXTURE.scenarios
    }
