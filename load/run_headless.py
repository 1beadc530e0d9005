"""Run Abi's locust scenarios headless and write CSV + HTML reports and a summary.

Without ``--target`` it starts ``abi serve`` on 127.0.0.1 (a fresh data directory, rate
limits raised so the load is measured rather than refused), takes the bootstrap admin's
credentials, prepares the fixture and runs locust for a bounded time with a bounded number
of users. With ``--target URL --client-id ID --client-secret SECRET`` (a platform admin)
it loads an existing server. Reports go to ``--out`` (default load/out/<scenario>-<time>):
``stats_*.csv``, ``stats.json`` (final figures), ``report.html`` and ``summary.json``.

    python load/run_headless.py --scenario rest --users 50 --duration 30
    python load/run_headless.py --scenario ws --users 2000 --spawn-rate 200 --duration 60
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fixture import prepare  # noqa: E402
from summary import summarize  # noqa: E402

SCENARIOS = {
    "rest": ["ApiUser", "TokenUser"],
    "api": ["ApiUser"],
    "token": ["TokenUser"],
    "ws": ["WebSocketUser"],
    "mixed": ["ApiUser", "TokenUser", "WebSocketUser"],
}
LOAD_SERVER_ENV = {
    "ABI_SERVER_RATE_LIMIT_PER_MINUTE": "100000000",
    "ABI_SERVER_RATE_LIMIT_BURST": "1000000",
    "ABI_SERVER_ACCESS_LOG": "false",
    "ABI_OBSERVABILITY_LOG_LEVEL": "warning",
}
_CREDENTIAL = re.compile(r"^\s*(client_id|client_secret):\s*(\S+)", re.MULTILINE)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _abi_command() -> list[str]:
    script = Path(sys.executable).with_name("abi")
    return [str(script)] if script.exists() else [sys.executable, "-m", "abi.cli.main"]


@contextmanager
def local_server(workers: int) -> Iterator[tuple[str, str, str, int]]:
    """``abi serve`` on a free loopback port: (url, admin id, admin secret, pid)."""
    data = Path(tempfile.mkdtemp(prefix="abi-load-"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ABI_")}
    env.update(LOAD_SERVER_ENV)
    log = (data / "server.log").open("w+", encoding="utf-8")
    command = [*_abi_command(), "serve", "--data-dir", str(data / "data")]
    command += ["--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        log.seek(0)
        creds = dict(_CREDENTIAL.findall(log.read()))
        yield url, creds["client_id"], creds["client_secret"], process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
        shutil.rmtree(data, ignore_errors=True)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Any) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise SystemExit(f"abi serve exited with {process.returncode}:\n{log.read()}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit("abi serve did not become ready within 120 s")


class MemorySampler:
    """Peak resident memory of a process tree (the server and its workers), from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree_rss(self) -> int:
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                status = (entry / "status").read_text()
            except OSError:
                continue
            if int(stat[2]) == self.pid:  # process group: the server and its workers
                match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
                total += int(match.group(1)) * 1024 if match else 0
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.peak_bytes = max(self.peak_bytes, self._tree_rss())

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def run_locust(args: argparse.Namespace, fixture_path: Path, out: Path) -> int:
    env = {**os.environ, "LOAD_FIXTURE": str(fixture_path)}
    if args.wait is not None:
        env["LOAD_WAIT_SECONDS"] = str(args.wait)
    command = [
        sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless",
        "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
        "--run-time", f"{args.duration}s", "--stop-timeout", "10",
        "--csv", str(out / "stats"), "--csv-full-history", "--html", str(out / "report.html"),
        "--json-file", str(out / "stats"),
        "--only-summary", "--loglevel", "WARNING",
        *(["--processes", str(args.processes)] if args.processes > 1 else []),
        *SCENARIOS[args.scenario],
    ]  # fmt: skip
    return subprocess.run(command, env=env, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="rest")
    parser.add_argument("--users", type=int, default=50, help="Concurrent users (bounded).")
    parser.add_argument("--spawn-rate", type=float, default=25.0, help="Users started per second.")
    parser.add_argument("--duration", type=int, default=30, help="Seconds of load.")
    parser.add_argument("--processes", type=int, default=1, help="Locust worker processes.")
    parser.add_argument("--wait", type=float, default=None, help="Seconds between a user's tasks.")
    parser.add_argument("--server-workers", type=int, default=1, help="Workers of a local server.")
    parser.add_argument("--target", default=None, help="Load this server instead of a local one.")
    parser.add_argument("--client-id", default=None, help="Platform admin client (--target).")
    parser.add_argument("--client-secret", default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if not 1 <= args.users <= 100_000 or not 1 <= args.duration <= 3600:
        parser.error("--users must be 1..100000 and --duration 1..3600 seconds")
    if args.target and not (args.client_id and args.client_secret):
        parser.error("--target needs --client-id and --client-secret of a platform admin")
    out = args.out or HERE / "out" / f"{args.scenario}-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    fixture_path = out / "fixture.json"

    def run(url: str, admin_id: str, admin_secret: str, pid: int | None) -> dict[str, Any]:
        prepare(url, admin_id, admin_secret).save(fixture_path)
        if pid is None:
            code = run_locust(args, fixture_path, out)
            peak = None
        else:
            with MemorySampler(pid) as sampler:
                code = run_locust(args, fixture_path, out)
            peak = sampler.peak_bytes
        return summarize(out / "stats.json", args, code, peak)

    if args.target:
        summary = run(args.target.rstrip("/"), args.client_id, args.client_secret, None)
    else:
        with local_server(args.server_workers) as (url, admin_id, admin_secret, pid):
            summary = run(url, admin_id, admin_secret, pid)
    fixture_path.unlink(missing_ok=True)  # it holds a client secret
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(json.dumps(summary, indent=2))
    print(f"reports in {out}")
    return 0 if summary["locust_exit_code"] in (0, 1) else summary["locust_exit_code"]


if __name__ == "__main__":
    sys.exit(main())
