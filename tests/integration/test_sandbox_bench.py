"""`abi bench plugins --json` runs end to end at tiny sizes and reports the contract's keys
(figures only: nothing here judges speed)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from abi.cli.main import cli

CONTRACT_KEYS = {
    "warm_calls_per_s",
    "naive_calls_per_s",
    "fresh_calls_per_s",
    "load_cold_ms",
    "load_cached_ms",
    "two_thread_speedup",
}


def test_bench_plugins_json_has_the_contract_keys() -> None:
    result = CliRunner().invoke(
        cli, ["bench", "plugins", "--json", "--calls", "400", "--rounds", "1"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert set(figures) >= CONTRACT_KEYS
    assert all(figures[key] > 0 for key in CONTRACT_KEYS)
    assert figures["module_bytes"] > 90_000
