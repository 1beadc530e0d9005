"""``abi plugin new`` / ``build`` / ``test``: projects from every template build with their
toolchain and reproduce their examples; bad names, missing toolchains and compiler errors
are refused clearly and leave nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from abi.cli.main import cli
from abi.cli.plugin_author import (
    LANGUAGES,
    SDK_FILES,
    ToolchainMissing,
    build_project,
    clang_path,
    create_project,
    detect_language,
    example_entry,
    load_project,
)
from abi.errors import InvalidInput
from abi.plugins.manifest import parse_manifest
from helpers.toolchains import build_or_skip, require_toolchain


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["plugin", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("lang", LANGUAGES)
def test_new_creates_a_valid_project_with_the_sdk(tmp_path: Path, lang: str) -> None:
    code, out, _ = invoke("new", "my-plugin", "--lang", lang, "--dir", str(tmp_path))
    folder = tmp_path / "my-plugin"
    assert code == 0
    assert out.strip() == str(folder)
    manifest = parse_manifest((folder / "plugin.toml").read_bytes())
    assert manifest.name == "my-plugin"
    assert sorted(p.name for p in (folder / "sdk").iterdir()) == sorted(SDK_FILES[lang])
    assert detect_language(folder) == lang
    assert "{{" not in "".join(p.read_text() for p in folder.rglob("*") if p.is_file())


def test_new_refuses_an_invalid_name(tmp_path: Path) -> None:
    code, _, err = invoke("new", "Bad Name", "--lang", "c", "--dir", str(tmp_path))
    assert code == 1
    assert "is not a valid plugin name" in err
    assert list(tmp_path.iterdir()) == []


def test_new_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(InvalidInput, match="exists and is not empty"):
        create_project("taken", "zig", tmp_path)
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
def test_template_builds_and_passes_its_examples(tmp_path: Path, lang: str) -> None:
    folder = create_project("greeter", lang, tmp_path)
    build_or_skip(folder)
    code, out, _ = invoke("test", str(folder))
    assert code == 0
    assert out.splitlines() == ["ok   empty (handle)", "ok   hello (handle)"]


def test_build_names_the_missing_toolchain(tmp_path: Path) -> None:
    folder = create_project("greeter", "c", tmp_path)
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    code, _, err = invoke("build", str(folder), env={"PATH": str(empty_path)})
    assert code == 1
    assert err.startswith("error[plugin.toolchain_missing]: cannot build a c plugin: clang")
    assert not (folder / "plugin.wasm").exists()


def test_build_reports_compiler_errors_and_writes_nothing(tmp_path: Path) -> None:
    folder = create_project("greeter", "c", tmp_path)
    (folder / "src" / "plugin.c").write_text('#include "abi.h"\nABI_HANDLER(handle) { oops }\n')
    try:
        clang_path()
    except ToolchainMissing as exc:
        require_toolchain(exc)
    code, _, err = invoke("build", str(folder))
    assert code == 1
    assert err.startswith("error[plugin.build_failed]: c build failed")
    assert "oops" in err
    assert not (folder / "plugin.wasm").exists()


def test_build_table_command_is_run_with_placeholders(tmp_path: Path) -> None:
    folder = create_project("greeter", "c", tmp_path)
    (folder / "prebuilt.wasm").write_bytes(b"\0asm\1\0\0\0")
    manifest = folder / "plugin.toml"
    manifest.write_text(
        manifest.read_text() + '\n[build]\nlang = "c"\ncommand = ["cp", "prebuilt.wasm", "{out}"]\n'
    )
    target = build_project(folder)
    assert target == folder / "plugin.wasm"
    assert target.read_bytes() == b"\0asm\1\0\0\0"


def test_build_table_with_an_unknown_language_is_refused(tmp_path: Path) -> None:
    folder = create_project("greeter", "c", tmp_path)
    manifest = folder / "plugin.toml"
    manifest.write_text(manifest.read_text() + '\n[build]\nlang = "cobol"\n')
    with pytest.raises(InvalidInput, match=r"build\.lang: must be one of zig, c, rust"):
        load_project(folder)


def test_a_folder_without_sources_has_no_language(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    with pytest.raises(InvalidInput, match="cannot tell the plugin's language"):
        detect_language(tmp_path)


def test_examples_pick_their_entry_point_by_name_prefix() -> None:
    manifest = parse_manifest('name = "x"\nversion = "1.0.0"\nentry_points = ["redact", "scan"]\n')
    assert example_entry(manifest, "scan.mixed") == "scan"
    assert example_entry(manifest, "redact.mixed") == "redact"
    assert example_entry(manifest, "mixed") == "redact"
    assert example_entry(manifest, "other.mixed") == "redact"
