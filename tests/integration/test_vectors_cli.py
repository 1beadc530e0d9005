"""``abi db`` on a local data directory: create, import (npy and JSON lines), search,
stats, backup and restore."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from abi.cli.main import cli
from abi.config import Settings
from abi.runtime import Platform
from abi.vectors.datasets import clustered


@pytest.fixture
def data_dir(settings: Settings) -> Path:
    with Platform(settings) as platform:
        platform.tenants.create("acme")
        platform.tenants.create("other")
    return settings.data_dir


def _run(data_dir: Path, *args: str) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(cli, ["db", *args, "--tenant", "acme", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout[result.stdout.index("{") :])


def test_import_npy_then_search_and_stats(data_dir: Path, tmp_path: Path) -> None:
    data = clustered(300, 8, clusters=5)
    np.save(tmp_path / "v.npy", data)
    _run(data_dir, "create", "docs", "--dim", "8", "--param", "connectivity=8")
    imported = _run(
        data_dir, "import", "docs", str(tmp_path / "v.npy"), "--ids-from-row", "--batch", "64"
    )
    assert imported == {"imported": 300, "count": 300}
    hits = _run(data_dir, "search", "docs", json.dumps(data[17].tolist()), "-k", "3")["hits"]
    assert hits[0]["id"] == 17
    stats = _run(data_dir, "stats", "docs")
    assert stats["count"] == 300
    assert stats["index_params"]["connectivity"] == 8


def test_import_json_lines_with_payloads_and_filter(data_dir: Path, tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": f"d{i}", "vector": [1.0, float(i)], "payload": {"even": i % 2 == 0}})
        for i in range(10)
    ]
    (tmp_path / "v.jsonl").write_text("\n".join(lines) + "\n")
    _run(
        data_dir,
        "create",
        "docs",
        "--dim",
        "2",
        "--metric",
        "l2",
        "--index",
        "flat",
        "--dtype",
        "f32",
    )
    _run(data_dir, "import", "docs", str(tmp_path / "v.jsonl"))
    flt = json.dumps({"field": "even", "eq": False})
    hits = _run(data_dir, "search", "docs", "[1, 4]", "-k", "2", "--filter", flt, "--payloads")
    assert [h["id"] for h in hits["hits"]] == ["d3", "d5"]


def test_upsert_backup_restore_into_another_tenant(data_dir: Path, tmp_path: Path) -> None:
    _run(data_dir, "create", "notes", "--dim", "3")
    _run(data_dir, "upsert", "notes", "[1, 2, 3]", "--id", "n1", "--payload", '{"t": 1}')
    archive = tmp_path / "notes.tar"
    _run(data_dir, "backup", str(archive))
    result = CliRunner().invoke(
        cli, ["db", "restore", str(archive), "--tenant", "other", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    with Platform(Settings(data_dir=data_dir)) as platform:
        other = platform.tenants.by_name("other").id
        assert platform.vectors.get(other, "notes", "n1")["payload"] == {"t": 1}


def test_errors_exit_with_their_code(data_dir: Path) -> None:
    result = CliRunner().invoke(
        cli, ["db", "search", "missing", "[1]", "--tenant", "acme", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 1
    assert "error[vectors.collection_not_found]" in result.output
