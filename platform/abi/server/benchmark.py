"""The HTTP benchmark behind ``abi bench http``.

It starts ``abi serve``-equivalent servers (Hypercorn, uvloop workers, Abi's settings) and,
side by side in one run, a bare Quart "hello" app on the same Hypercorn settings, then drives
each with ``wrk`` on loopback, alternating the runs so the machine's drift hits both alike:

- authenticated ``GET /api/v1/health`` (a bearer token validated per request) against the
  bare app's ``GET /api/v1/health``: requests/s, mean and percentile latency, and the ratios;
- idle authenticated WebSocket connections (the bare app's unauthenticated echo socket as
  the baseline): the server processes' RSS growth per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from abi.config import Settings, load_settings
from abi.errors import Unavailable
from abi.runtime import Platform

BARE_APP = """
import json

from quart import Quart, websocket

app = Quart("bare")


@app.get("/api/v1/health")
async def health():
    return {"status": "ok"}


@app.websocket("/api/v1/ws")
async def ws():
    await websocket.send(json.dumps({"type": "welcome"}))
    while True:
        await websocket.receive()
"""

SERVER_SCRIPT = """
import os, sys
from hypercorn.run import run
from abi.config import Settings
from abi.server.app import hypercorn_config
settings = Settings.model_validate_json(os.environ["ABI_SERVE_SETTINGS"])
path = sys.argv[1]
extra = {"application_path": path} if path != "abi" else {}
sys.exit(run(hypercorn_config(settings, **extra)))
"""


@dataclass
class WrkResult:
    requests_per_second: float
    latency_mean_ms: float
    latency_p50_ms: float
    latency_p99_ms: float
    errors: int


@dataclass
class HttpReport:
    """Medians over the alternated rounds, and the ratios Abi/bare."""

    workers: int
    connections: int
    seconds_per_run: float
    rounds: int
    bare: WrkResult
    abi: WrkResult
    abi_no_access_log: WrkResult
    latency_ratio: float
    latency_ratio_no_access_log: float
    throughput_ratio: float
    websocket: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(output: str) -> WrkResult:
    """Figures from ``wrk --latency`` output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    mean = re.search(r"Latency\s+([\d.]+\w+)", output)
    p50 = re.search(r"50%\s+([\d.]+\w+)", output)
    p99 = re.search(r"99%\s+([\d.]+\w+)", output)
    if not (rps and mean and p50 and p99):
        raise Unavailable(f"could not parse wrk output:\n{output}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return WrkResult(
        requests_per_second=float(rps.group(1)),
        latency_mean_ms=_ms(mean.group(1)),
        latency_p50_ms=_ms(p50.group(1)),
        latency_p99_ms=_ms(p99.group(1)),
        errors=errors + (int(non2xx.group(1)) if non2xx else 0),
    )


class ServerProcess:
    """One server process (Abi or the bare app) on a free loopback port."""

    def __init__(self, settings: Settings, application: str, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        server = settings.server.model_copy(update={"port": self.port})
        settings = settings.model_copy(update={"server": server})
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ABI_")},
            "ABI_SERVE_SETTINGS": settings.model_dump_json(),
        }
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER_SCRIPT, application],
            env=env,
            stdout=self._log,
            stderr=self._log,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Unavailable(f"benchmark server exited early; see {self._log.name}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise Unavailable(f"benchmark server did not answer within {timeout} s")

    def rss_bytes(self) -> int:
        """Resident memory of the server process and its workers."""
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        with contextlib.suppress(OSError):
            pids += [int(p) for p in children.read_text().split()]
        total = 0
        for pid in pids:
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text()
                total += int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024  # type: ignore[union-attr]
        return total

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def run_wrk(args: list[str]) -> WrkResult:
    """Run wrk with ``args`` (options and URL) and parse its report."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise Unavailable(
            "the HTTP benchmarks need wrk (Debian package 'wrk'; tools/system-deps.sh)"
        )
    done = subprocess.run([wrk, *args], capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout)


def _wrk(url: str, token: str | None, connections: int, seconds: float) -> WrkResult:
    command = ["-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    return run_wrk([*command, url])


def _median(results: list[WrkResult]) -> WrkResult:
    return WrkResult(
        requests_per_second=statistics.median(r.requests_per_second for r in results),
        latency_mean_ms=statistics.median(r.latency_mean_ms for r in results),
        latency_p50_ms=statistics.median(r.latency_p50_ms for r in results),
        latency_p99_ms=statistics.median(r.latency_p99_ms for r in results),
        errors=sum(r.errors for r in results),
    )


@contextlib.contextmanager
def _servers(root: Path, workers: int) -> Iterator[tuple[dict[str, ServerProcess], str]]:
    """Abi (access log on and off) and the bare app, all started, plus a bearer token."""
    base = load_settings(
        environ={},
        overrides={
            "data_dir": root / "data",
            "server": {
                "workers": workers,
                "rate_limit_per_minute": 10**9,
                "rate_limit_burst": 10**9,
            },
            "observability": {"log_level": "warning"},
        },
    )
    with Platform(base) as platform:
        issued = platform.security.create_tenant("bench", actor="bench")
        token = platform.security.tokens.issue(issued.client, "tenants:read")["access_token"]
    (root / "bare.py").write_text(BARE_APP)
    logged = base.model_copy(
        update={"observability": base.observability.model_copy(update={"log_level": "info"})}
    )
    quiet = base.model_copy(update={"server": base.server.model_copy(update={"access_log": False})})
    log = root / "servers.log"
    servers = {
        "bare": ServerProcess(base, f"{root / 'bare.py'}:app", log),
        "abi": ServerProcess(logged, "abi", Path(os.devnull)),
        "abi_no_access_log": ServerProcess(quiet, "abi", log),
    }
    try:
        for server in servers.values():
            server.wait_ready()
        yield servers, token
    finally:
        for server in servers.values():
            server.stop()


async def _hold_websockets(url: str, token: str, count: int) -> list[Any]:
    from websockets.asyncio.client import connect

    gate = asyncio.Semaphore(200)
    headers = {"Authorization": f"Bearer {token}"}

    async def one() -> Any:
        async with gate:
            ws = await connect(url, additional_headers=headers, open_timeout=60)
            welcome = json.loads(await ws.recv())
            if welcome.get("type") != "welcome":
                raise Unavailable(f"WebSocket not welcomed: {welcome}")
            return ws

    return list(await asyncio.gather(*(one() for _ in range(count))))


def measure_websockets(server: ServerProcess, token: str, count: int) -> dict[str, Any]:
    """RSS of the server before and while ``count`` idle authenticated sockets are open."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 1024), hard))
    url = server.url.replace("http://", "ws://") + "/api/v1/ws"

    async def run() -> dict[str, Any]:
        await _hold_websockets(url, token, 8)  # warm up every worker's code paths
        before = server.rss_bytes()
        started = time.perf_counter()
        sockets = await _hold_websockets(url, token, count)
        opened = time.perf_counter() - started
        await asyncio.sleep(2.0)
        after = server.rss_bytes()
        await asyncio.gather(*(ws.close() for ws in sockets))
        return {
            "connections": count,
            "server_rss_before_mib": round(before / 2**20, 1),
            "server_rss_with_connections_mib": round(after / 2**20, 1),
            "kib_per_connection": round((after - before) / count / 1024, 1),
            "connect_seconds": round(opened, 2),
        }

    return asyncio.run(run())


def run_http_benchmark(
    *,
    workers: int = 2,
    connections: int = 64,
    seconds: float = 10.0,
    rounds: int = 3,
    websockets: int = 10_000,
) -> HttpReport:
    """Run everything and return medians and ratios (see the module docstring)."""
    with (
        tempfile.TemporaryDirectory(prefix="abi-bench-") as tmp,
        _servers(Path(tmp), workers) as (servers, token),
    ):
        runs: dict[str, list[WrkResult]] = {name: [] for name in servers}
        for _ in range(rounds):
            for name, server in servers.items():
                auth = None if name == "bare" else token
                runs[name].append(_wrk(f"{server.url}/api/v1/health", auth, connections, seconds))
        ws: dict[str, Any] = {}
        if websockets:
            ws["bare"] = measure_websockets(servers["bare"], token, websockets)
            ws["abi"] = measure_websockets(servers["abi_no_access_log"], token, websockets)
            ws["memory_ratio"] = round(
                ws["abi"]["kib_per_connection"] / ws["bare"]["kib_per_connection"], 2
            )
    bare, abi, quiet = (_median(runs[n]) for n in ("bare", "abi", "abi_no_access_log"))
    return HttpReport(
        workers=workers,
        connections=connections,
        seconds_per_run=seconds,
        rounds=rounds,
        bare=bare,
        abi=abi,
        abi_no_access_log=quiet,
        latency_ratio=round(abi.latency_mean_ms / bare.latency_mean_ms, 2),
        latency_ratio_no_access_log=round(quiet.latency_mean_ms / bare.latency_mean_ms, 2),
        throughput_ratio=round(abi.requests_per_second / bare.requests_per_second, 2),
        websocket=ws,
    )
