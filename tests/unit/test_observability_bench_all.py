"""``abi bench all``: suites called through their Python APIs, one table, JSON reports and
regressions over 5% flagged against a previous report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from abi.cli import bench_all
from abi.cli.bench_all import Suite, SuiteRun, compare, flatten, run_suite
from abi.cli.main import cli

# A deterministic suite: flatten() returns the figures it is given.
FAKE = Suite(
    "fake",
    "abi.cli.bench_all:flatten",
    quick={"value": {"calls_per_s": 1000.0, "p50_ms": 2.0, "rounds": 3}},
)


def test_directions_follow_names_and_explicit_patterns() -> None:
    suite = Suite("s", "m:f", lower=("odd_per_s",), params=("bare.*",))
    assert suite.direction("calls_per_s") == "higher"
    assert suite.direction("warm_vs_naive") == "higher"
    assert suite.direction("latency_p99_ms") == "lower"
    assert suite.direction("odd_per_s") == "lower"
    assert suite.direction("bare.requests_per_second") == "info"
    assert suite.direction("module_bytes") == "info"


def test_flatten_nests_dataclasses_and_to_dict() -> None:
    @dataclass
    class Inner:
        rate_per_s: float

    class Report:
        def to_dict(self) -> dict[str, Any]:
            return {"abi": Inner(5.0), "ratio": 1.5}

    assert flatten(Report()) == {"abi.rate_per_s": 5.0, "ratio": 1.5}


def _run(figures: dict[str, Any]) -> dict[str, SuiteRun]:
    return {"fake": SuiteRun("fake", 0.1, figures)}


def test_a_drop_over_five_percent_in_a_rate_is_a_regression() -> None:
    previous = {"suites": {"fake": {"figures": {"calls_per_s": 1000.0, "p50_ms": 2.0}}}}
    changes = compare([FAKE], _run({"calls_per_s": 940.0, "p50_ms": 2.0}), previous)
    assert [(c.figure, c.regressed) for c in changes] == [("calls_per_s", True), ("p50_ms", False)]


def test_a_drop_within_five_percent_is_not_flagged() -> None:
    previous = {"suites": {"fake": {"figures": {"calls_per_s": 1000.0}}}}
    changes = compare([FAKE], _run({"calls_per_s": 960.0}), previous)
    assert not changes[0].regressed


def test_a_slower_latency_is_a_regression() -> None:
    previous = {"suites": {"fake": {"figures": {"p50_ms": 2.0}}}}
    changes = compare([FAKE], _run({"p50_ms": 2.2}), previous)
    assert changes[0].regressed


def test_run_parameters_are_never_compared() -> None:
    previous = {"suites": {"fake": {"figures": {"rounds": 30}}}}
    assert compare([FAKE], _run({"rounds": 3}), previous) == []


def test_a_failing_suite_is_recorded_not_raised() -> None:
    broken = Suite("broken", "json:loads", quick={"s": "{"})
    result = run_suite(broken, quick=True)
    assert result.error is not None and result.error.startswith("JSONDecodeError")


@pytest.fixture
def fake_suites(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_all, "SUITES", (FAKE,))


def test_json_report_is_written_to_out(fake_suites: None, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["bench", "all", "--quick", "--json", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["suites"]["fake"]["figures"]["calls_per_s"] == 1000.0
    assert json.loads((tmp_path / "latest.json").read_text()) == printed


def test_compare_flags_regressions_and_exits_3(fake_suites: None, tmp_path: Path) -> None:
    previous = tmp_path / "previous.json"
    previous.write_text(json.dumps({"suites": {"fake": {"figures": {"calls_per_s": 2000.0}}}}))
    result = CliRunner().invoke(cli, ["bench", "all", "--quick", "--compare", str(previous)])
    assert result.exit_code == 3
    row = next(line for line in result.output.splitlines() if "calls_per_s" in line)
    assert "-50.0%" in row and "REGRESSION" in row


def test_a_failed_suite_makes_the_run_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_all, "SUITES", (FAKE, Suite("broken", "json:loads", {"s": "{"})))
    result = CliRunner().invoke(cli, ["bench", "all", "--quick"])
    assert result.exit_code == 1
    assert "ERROR" in result.output
    assert "calls_per_s" in result.output


def test_unknown_suite_names_are_refused(fake_suites: None) -> None:
    result = CliRunner().invoke(cli, ["bench", "all", "--only", "nope"])
    assert result.exit_code == 2
    assert "unknown suite(s) nope" in result.output


def test_every_registered_suite_resolves_to_a_function() -> None:
    for suite in bench_all.SUITES:
        assert callable(suite.load()), suite.name


def test_plain_abi_bench_runs_every_suite_once(
    fake_suites: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from abi.cli.bench import bench

    ran: list[str] = []

    def recorded(suite: Suite, quick: bool) -> SuiteRun:
        ran.append(suite.name)
        return run_suite(suite, quick=True)  # the fake suite has only its quick arguments

    monkeypatch.setattr(bench_all, "run_suite", recorded)
    only_all = {"all": bench.commands["all"]}
    monkeypatch.setattr(bench, "commands", only_all)
    result = CliRunner().invoke(cli, ["bench"])
    assert result.exit_code == 0, result.output
    assert ran == [FAKE.name]


def test_compute_compares_the_embedding_ratio_not_the_reference_library() -> None:
    compute = next(suite for suite in bench_all.SUITES if suite.name == "compute")
    assert compute.direction("embed_ratio_to_reference") == "higher"
    assert compute.direction("embed_reference_sentences_per_s") == "info"
    assert compute.direction("embed_minilm_sentences_per_s") == "higher"
