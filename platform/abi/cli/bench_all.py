"""``abi bench all``: every subsystem's benchmark suite in one run, one table, one JSON.

Each suite is called through its Python API (the function behind its own ``abi bench
<suite>`` command) and returns a dict of figures, with the ratios against the baselines it
measured in the same run. ``--compare PREVIOUS.json`` flags every figure that got more than
5% worse (in the direction that matters for it: rates up, times down).

Exit status: 0 when every suite ran and nothing regressed, 1 when a suite failed, 3 when
a regression was flagged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import importlib
import json
import os
import platform as host
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import click

from abi import __version__

REGRESSION_THRESHOLD = 0.05
Direction = Literal["higher", "lower", "info"]

HIGHER_IS_BETTER = (
    "*per_s",
    "*per_s_*",
    "*per_second*",
    "*qps*",
    "*accuracy*",
    "*hit_at*",
    "*_qps",
    "*_rps",
    "*speedup*",
    "*_vs_*",
    "*recall*",
    "*throughput*",
    "*gflops*",
)
LOWER_IS_BETTER = ("*_ms", "*_us", "*_ns", "*_s", "*_seconds", "*latency*", "*rss*", "*_mib")


@dataclass(frozen=True)
class Suite:
    """One subsystem's benchmark: ``target`` is ``module:function`` returning its figures."""

    name: str
    target: str
    quick: Mapping[str, Any] = field(default_factory=dict)
    """Keyword arguments for ``--quick`` (small sizes, seconds instead of minutes)."""
    higher: tuple[str, ...] = ()
    lower: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    """Figures never compared across runs: run parameters (sizes, counts, versions) and
    the same-run baselines themselves (the ratios against them are compared instead)."""

    def direction(self, key: str) -> Direction:
        """Whether a larger value of figure ``key`` is better, worse, or not a measurement."""
        for patterns, verdict in (
            (self.params, "info"),
            (self.higher, "higher"),
            (self.lower, "lower"),
            (HIGHER_IS_BETTER, "higher"),
            (LOWER_IS_BETTER, "lower"),
        ):
            if any(fnmatch.fnmatchcase(key, p) for p in patterns):
                return verdict  # type: ignore[return-value]
        return "info"

    def load(self) -> Callable[..., Any]:
        """Import and return the suite's benchmark function."""
        module, _, function = self.target.partition(":")
        func: Callable[..., Any] = getattr(importlib.import_module(module), function)
        return func


SUITES: tuple[Suite, ...] = (
    Suite(
        "plugins",
        "abi.plugins.benchmark:run_benchmark",
        quick={"calls": 2000, "rounds": 1, "load_repeats": 1},
        params=(
            "naive_calls_per_s",
            "rounds",
            "calls_per_round",
            "payload_bytes",
            "module_bytes",
            "spin_call_fuel",
        ),
    ),
    Suite(
        "http",
        "abi.server.benchmark:run_http_benchmark",
        quick={"seconds": 2.0, "rounds": 1, "connections": 16, "websockets": 200},
        higher=("*requests_per_second",),
        lower=("latency_ratio*", "*errors", "websocket.abi.kib_per_connection", "*memory_ratio"),
        params=(
            "bare.*",
            "websocket.bare.*",
            "websocket.*.connections",
            "websocket.*.server_rss_before_mib",
            "workers",
            "connections",
            "seconds_per_run",
            "rounds",
        ),
    ),
    Suite(
        "vectors",
        "abi.vectors.benchmark:run_benchmark",
        quick={"n": 2000, "dim": 64, "queries": 100, "peers": False, "http": False},
        lower=("hnsw_overhead_*",),
        params=(
            "n",
            "dim",
            "queries",
            "k",
            "threads",
            "numpy_exact_qps",
            "usearch_raw_*",
            "best_peer*",
            "filtered_qps_*",
            "curves.*",
        ),
    ),
    Suite(
        "compute",
        "abi.compute.benchmark:run_benchmark",
        quick={
            "queries": 64,
            "vectors": 4096,
            "dim": 384,
            "gemm_size": 128,
            "rounds": 1,
            "embed_sentences": 16,
        },
        higher=("*_ratio", "*_ratio_to_*"),
        params=(
            "queries",
            "vectors",
            "dim",
            "k",
            "gemm_size",
            "rounds",
            "*numpy*",
            "embed_reference_*",
            "embed_batch_size",
            "peak_gflops_estimate",
        ),
    ),
    Suite(
        "agents",
        "abi.agents.benchmark:run_benchmark",
        quick={"passages": 2000, "agents": 50, "queries": 100, "threads": 2},
        lower=("router.decision_p99_vs_*",),
        params=(
            "*.passages",
            "*.agents",
            "*.queries",
            "*.threads",
            "*.examples",
            "*.train_examples",
            "*.held_out",
            "*.epochs",
            "*similarity_accuracy",
            "*chance_accuracy",
            "*.embed_only_*",
            "*.search_only_*",
        ),
    ),
)
"""The registered suites, in run order."""


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A suite's result as ``{"a.b": leaf}`` (dataclasses and ``to_dict()`` objects too)."""
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass
class SuiteRun:
    """One suite's outcome: its run time and figures, or the error that stopped it."""

    name: str
    seconds: float
    figures: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The run as it appears under ``suites`` in the JSON report."""
        return {"seconds": self.seconds, "figures": self.figures, "error": self.error}


def run_suite(suite: Suite, quick: bool) -> SuiteRun:
    """Run one suite; a failure is recorded with its reason instead of stopping the rest."""
    started = time.perf_counter()
    try:
        result = suite.load()(**(dict(suite.quick) if quick else {}))
        figures = flatten(result)
    except Exception as exc:
        return SuiteRun(
            suite.name, time.perf_counter() - started, error=f"{type(exc).__name__}: {exc}"
        )
    return SuiteRun(suite.name, round(time.perf_counter() - started, 2), figures)


@dataclass(frozen=True)
class Change:
    """A measured figure of this run next to its value in the previous report."""

    suite: str
    figure: str
    previous: float
    current: float
    direction: Direction

    @property
    def relative(self) -> float:
        """``(current - previous) / |previous|`` (0 when previous is 0)."""
        return (self.current - self.previous) / abs(self.previous) if self.previous else 0.0

    @property
    def regressed(self) -> bool:
        """Whether the figure got more than 5% worse in the direction that matters."""
        if self.direction == "higher":
            return self.relative < -REGRESSION_THRESHOLD
        if self.direction == "lower":
            return self.relative > REGRESSION_THRESHOLD
        return False


def compare(
    suites: Sequence[Suite], runs: Mapping[str, SuiteRun], previous: Mapping[str, Any]
) -> list[Change]:
    """Each measured figure present in both runs, with its change against ``previous``."""
    before = previous.get("suites", {})
    changes = []
    for suite in suites:
        run = runs.get(suite.name)
        old = before.get(suite.name, {}).get("figures", {})
        if run is None or run.error:
            continue
        for key, value in run.figures.items():
            direction = suite.direction(key)
            if direction != "info" and _is_number(value) and _is_number(old.get(key)):
                changes.append(Change(suite.name, key, float(old[key]), float(value), direction))
    return changes


def _git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
            cwd=Path(__file__).resolve().parent,
        )
    except OSError:
        return None
    return done.stdout.strip() or None


def report(runs: Mapping[str, SuiteRun], quick: bool) -> dict[str, Any]:
    """The JSON document of one run (the input of a later ``--compare``)."""
    return {
        "abi_version": __version__,
        "git_commit": _git_commit(),
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": {
            "machine": host.machine(),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
        },
        "quick": quick,
        "suites": {name: run.to_dict() for name, run in runs.items()},
    }


def _format(value: Any) -> str:
    if isinstance(value, list | tuple):
        return f"({len(value)} items: see the JSON report)"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def table(suites: Sequence[Suite], runs: Mapping[str, SuiteRun], changes: Sequence[Change]) -> str:
    """One table: suite, figure, value, which way is better, change vs previous, flag."""
    by_key = {(c.suite, c.figure): c for c in changes}
    rows = [("suite", "figure", "value", "better", "vs previous", "")]
    for suite in suites:
        run = runs.get(suite.name)
        if run is None:
            continue
        if run.error:
            rows.append((suite.name, "(failed)", run.error[:80], "", "", "ERROR"))
            continue
        for key, value in run.figures.items():
            change = by_key.get((suite.name, key))
            delta = f"{change.relative:+.1%}" if change else ""
            flag = "REGRESSION" if change and change.regressed else ""
            better = {"higher": "up", "lower": "down", "info": ""}[suite.direction(key)]
            rows.append((suite.name, key, _format(value), better, delta, flag))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def _select(only: str | None, skip: str | None) -> list[Suite]:
    names = {s.name for s in SUITES}
    chosen = set(only.split(",")) if only else set(names)
    skipped = set(skip.split(",")) if skip else set()
    unknown = (chosen | skipped) - names
    if unknown:
        raise click.BadParameter(
            f"unknown suite(s) {', '.join(sorted(unknown))}; suites: {', '.join(sorted(names))}"
        )
    return [s for s in SUITES if s.name in chosen - skipped]


@click.command("all")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report instead of a table.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write bench-<time>.json (and latest.json) into this folder.",
)
@click.option(
    "--compare",
    "previous_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="A previous report: figures more than 5% worse are flagged.",
)
@click.option("--quick", is_flag=True, help="Small sizes: a smoke run in seconds.")
@click.option("--only", default=None, help="Comma-separated suites to run.")
@click.option("--skip", default=None, help="Comma-separated suites to leave out.")
def bench_all(
    *,
    as_json: bool,
    out: Path | None,
    previous_file: Path | None,
    quick: bool,
    only: str | None,
    skip: str | None,
) -> None:
    """Run every benchmark suite; one table of figures and same-run ratios, plus JSON."""
    suites = _select(only, skip)
    previous: dict[str, Any] = {}
    if previous_file is not None:
        try:
            previous = json.loads(previous_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise click.BadParameter(f"{previous_file} is not a bench report: {exc}") from exc
    runs: dict[str, SuiteRun] = {}
    for suite in suites:
        if not as_json:
            click.echo(f"running {suite.name} ...", err=True)
        runs[suite.name] = run_suite(suite, quick)
    changes = compare(suites, runs, previous)
    document = report(runs, quick)
    document["regressions"] = [dataclasses.asdict(c) for c in changes if c.regressed]
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        text = json.dumps(document, indent=2, default=str)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (out / f"bench-{stamp}.json").write_text(text, encoding="utf-8")
        (out / "latest.json").write_text(text, encoding="utf-8")
    if as_json:
        click.echo(json.dumps(document, indent=2, default=str))
    else:
        click.echo(table(suites, runs, changes))
        if previous_file is not None:
            flagged = len(document["regressions"])
            click.echo(f"\n{flagged} regression(s) over 5% against {previous_file}")
    if any(run.error for run in runs.values()):
        sys.exit(1)
    if document["regressions"]:
        sys.exit(3)
