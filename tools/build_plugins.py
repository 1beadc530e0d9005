"""Rebuild the first-party plugins (wasm-plugins/*, not hostile/) from source.

    python tools/build_plugins.py              rebuild every module in place (`make plugins`)
    python tools/build_plugins.py --check      build into a temporary folder, compare each
                                               module with the committed one and run the
                                               examples on the rebuilt module; exit 1 if an
                                               example fails (committed files untouched)
    python tools/build_plugins.py --only notes --only sentiment

Each plugin is built with its language's toolchain by `abi plugin build` (see
platform/abi/cli/plugin_author.py); the toolchains are clang, the ziglang package, a rustc
with the wasm32-unknown-unknown target, and the AssemblyScript compiler pinned in
plugin-sdk/assemblyscript (installed with npm ci on first use).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

from abi.cli.plugin_author import build_project, load_project, run_examples
from abi.config import load_settings
from abi.errors import AbiError
from abi.plugins.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "wasm-plugins"


def first_party() -> list[Path]:
    """Every plugin folder under wasm-plugins/ except the hostile test cases."""
    return sorted(p.parent for p in PLUGINS.glob("*/plugin.toml") if p.parent.name != "hostile")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def check(folders: list[Path]) -> int:
    """Rebuild into a temporary folder; report identity and examples. Returns failures."""
    sandbox = Sandbox(load_settings(environ={}).plugins)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="abi-plugins-") as tmp:
        for folder in folders:
            project = load_project(folder)
            start = time.perf_counter()
            built = build_project(folder, Path(tmp) / f"{folder.name}.wasm")
            seconds = time.perf_counter() - start
            committed = project.module_path
            same = committed.is_file() and committed.read_bytes() == built.read_bytes()
            results = run_examples(sandbox, folder, built.read_bytes())
            bad = [r.name for r in results if not r.passed]
            failures += len(bad)
            identity = "identical" if same else f"differs ({_digest(built)})"
            print(
                f"{folder.name:16} {project.lang:15} {seconds:5.1f}s  module {identity:22} "
                f"examples {len(results) - len(bad)}/{len(results)}"
                + (f"  FAILED: {', '.join(bad)}" if bad else "")
            )
    return failures


def rebuild(folders: list[Path]) -> None:
    for folder in folders:
        start = time.perf_counter()
        target = build_project(folder)
        seconds = time.perf_counter() - start
        print(
            f"{folder.name:16} {target.stat().st_size:7} bytes  {_digest(target)}  {seconds:.1f}s"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="verify without writing modules")
    parser.add_argument("--only", action="append", default=[], metavar="NAME")
    args = parser.parse_args(argv)
    folders = first_party()
    if args.only:
        unknown = sorted(set(args.only) - {f.name for f in folders})
        if unknown:
            parser.error(f"no first-party plugin named {', '.join(unknown)}")
        folders = [f for f in folders if f.name in args.only]
    try:
        if args.check:
            return 1 if check(folders) else 0
        rebuild(folders)
    except AbiError as exc:
        print(f"error[{exc.code}]: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
