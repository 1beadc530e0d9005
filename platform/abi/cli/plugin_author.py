"""``abi plugin new``, ``build`` and ``test``: start a plugin from a template, compile it, and
check it against its examples.

A project is a folder with ``plugin.toml``, its sources under ``src/`` and ``examples/``.
The language comes from an optional ``[build]`` table (``lang``, ``command``) or from the
sources: ``src/main.zig`` (Zig), ``src/lib.rs`` (Rust), ``src/index.ts`` (AssemblyScript),
``src/*.c`` (C). The guest SDK is the project's ``sdk/`` folder (``new`` copies it there) or,
for the first-party plugins, the repository's ``plugin-sdk/<lang>/``. Builds run in a
temporary folder; the module lands next to plugin.toml under the manifest's ``module`` name.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from abi.cli.common import data_dir_option, handle_errors, settings_from
from abi.errors import AbiError, InvalidInput
from abi.plugins.bundle import Bundle
from abi.plugins.errors import PluginCallError
from abi.plugins.host.base import HostServices
from abi.plugins.kvstore import MemoryKeyValueStore
from abi.plugins.manifest import BUILD_LANGUAGES, NAME_RE, Manifest, manifest_from_mapping
from abi.plugins.sandbox import Sandbox

LANGUAGES = BUILD_LANGUAGES
SDK_FILES: dict[str, tuple[str, ...]] = {
    "c": ("abi.h", "abi.c", "abi_json.c"),
    "zig": ("abi.zig",),
    "rust": ("abi_sdk.rs",),
    "assemblyscript": ("abi.ts",),
}
BUILD_TIMEOUT_S = 300


class ToolchainMissing(AbiError):
    """The compiler for a plugin's language is not installed."""

    code = "plugin.toolchain_missing"
    status = 503


class BuildFailed(InvalidInput):
    """The compiler refused the plugin's sources."""

    code = "plugin.build_failed"


class ProjectInvalid(InvalidInput):
    """The folder is not a buildable plugin project; the message says what is missing."""

    code = "plugin.project_invalid"


def sdk_root() -> Path:
    """The repository's plugin-sdk/ folder (guest SDKs and templates)."""
    root = Path(__file__).resolve().parents[3] / "plugin-sdk"
    if not (root / "ABI.md").is_file():
        raise ToolchainMissing(
            f"the plugin SDK folder {root} is missing; run abi from a checkout of the repository"
        )
    return root


# ------------------------------------------------------------------ projects


@dataclass(frozen=True)
class Project:
    """A plugin project folder, its manifest and how to build it."""

    folder: Path
    manifest: Manifest
    lang: str
    command: tuple[str, ...] | None

    @property
    def module_path(self) -> Path:
        return self.folder / self.manifest.module

    @property
    def sdk(self) -> Path:
        vendored = self.folder / "sdk"
        return vendored if vendored.is_dir() else sdk_root() / self.lang


def detect_language(folder: Path) -> str:
    """The language of a project by its sources; InvalidInput when none is recognised."""
    src = folder / "src"
    if (src / "main.zig").is_file():
        return "zig"
    if (src / "lib.rs").is_file():
        return "rust"
    if (src / "index.ts").is_file():
        return "assemblyscript"
    if any(src.glob("*.c")):
        return "c"
    raise ProjectInvalid(
        f"{folder}: cannot tell the plugin's language: expected src/main.zig, src/lib.rs, "
        "src/index.ts or src/*.c (or lang in a [build] table of plugin.toml)"
    )


def load_project(path: Path) -> Project:
    """Read a project folder (or its plugin.toml); the manifest is validated."""
    folder = path.parent if path.name == "plugin.toml" else path
    manifest_file = folder / "plugin.toml"
    if not manifest_file.is_file():
        raise ProjectInvalid(f"{folder} has no plugin.toml (create a project with abi plugin new)")
    try:
        raw = tomllib.loads(manifest_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProjectInvalid(f"{manifest_file} is not valid TOML: {exc}") from exc
    manifest = manifest_from_mapping(raw)  # checks the [build] table too
    build = raw.get("build", {})
    command = build.get("command")
    lang = build.get("lang") or detect_language(folder)
    return Project(folder.resolve(), manifest, lang, tuple(command) if command else None)


# ------------------------------------------------------------------ toolchains


def _which(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def _missing(lang: str, what: str) -> ToolchainMissing:
    return ToolchainMissing(f"cannot build a {lang} plugin: {what}", lang=lang)


def clang_path() -> str:
    """clang, once wasm-ld (lld) is known to be there too: clang links through it."""
    versions = ("", "-19", "-18", "-17", "-16", "-15", "-14")
    found = _which(*(f"clang{v}" for v in versions))
    if found is None:
        raise _missing("c", "clang is not installed (Debian: apt-get install clang lld)")
    if _which(*(f"wasm-ld{v}" for v in versions)) is None:
        raise _missing("c", "wasm-ld is not installed (Debian: apt-get install lld)")
    return found


def cache_dir(tool: str) -> Path:
    """A per-user cache folder for a toolchain's incremental state (content-addressed)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "abi" / tool


def zig_command() -> list[str]:
    if importlib.util.find_spec("ziglang") is None:
        raise _missing("zig", "the ziglang package is not installed (pip install ziglang)")
    return [sys.executable, "-m", "ziglang"]


def _rustc_has_wasm(rustc: str) -> bool:
    try:
        sysroot = subprocess.run(
            [rustc, "--print", "sysroot"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return False
    return (Path(sysroot) / "lib/rustlib/wasm32-unknown-unknown/lib").is_dir()


def rustc_path() -> str:
    """The first rustc that has the wasm32-unknown-unknown standard library."""
    candidates = [c for c in (shutil.which("rustc"), "/usr/bin/rustc") if c]
    for rustc in dict.fromkeys(candidates):
        if Path(rustc).is_file() and _rustc_has_wasm(rustc):
            return rustc
    raise _missing(
        "rust",
        "no rustc with the wasm32-unknown-unknown target (Debian: apt-get install rustc "
        "libstd-rust-dev-wasm32; rustup: rustup target add wasm32-unknown-unknown)",
    )


def asc_path(install: bool = True) -> str:
    """The pinned AssemblyScript compiler; ``npm ci`` installs it on first use."""
    folder = sdk_root() / "assemblyscript"
    asc = folder / "node_modules" / ".bin" / "asc"
    if asc.is_file():
        return str(asc)
    npm = _which("npm")
    if not install or npm is None or _which("node") is None:
        raise _missing(
            "assemblyscript",
            f"the asc compiler is not installed; install Node.js and npm, then run "
            f"npm ci --prefix {folder}",
        )
    click.echo(f"installing the pinned AssemblyScript compiler (npm ci in {folder})", err=True)
    _run([npm, "ci", "--no-audit", "--no-fund", "--prefix", str(folder)], folder, "assemblyscript")
    if not asc.is_file():
        raise _missing("assemblyscript", f"npm ci in {folder} did not install asc")
    return str(asc)


def _run(argv: list[str], cwd: Path, lang: str) -> None:
    try:
        done = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False
        )
    except FileNotFoundError as exc:
        raise _missing(lang, f"{argv[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise BuildFailed(f"{lang} build timed out after {BUILD_TIMEOUT_S}s: {argv[0]}") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()[-4000:]
        raise BuildFailed(f"{lang} build failed ({Path(argv[0]).name}):\n{detail}", lang=lang)


# ------------------------------------------------------------------ build steps per language


def _sources(project: Project, pattern: str) -> list[str]:
    return sorted(str(p) for p in (project.folder / "src").glob(pattern))


def _steps_c(project: Project, out: Path, _tmp: Path) -> list[list[str]]:
    sdk = project.sdk
    return [
        [
            clang_path(),
            "--target=wasm32",
            "-nostdlib",
            "-O2",
            "-mbulk-memory",
            "-Wall",
            "-Wextra",
            "-Wl,--no-entry",
            "-Wl,--strip-all",
            f"-I{sdk}",
            *_sources(project, "*.c"),
            *sorted(str(p) for p in sdk.glob("*.c")),
            "-o",
            str(out),
        ]
    ]


def _steps_zig(project: Project, out: Path, _tmp: Path) -> list[list[str]]:
    return [
        [
            *zig_command(),
            "build-exe",
            "-target",
            "wasm32-freestanding",
            "-O",
            "ReleaseSmall",
            "-fno-entry",
            "-rdynamic",
            "--cache-dir",
            str(cache_dir("zig")),
            f"-femit-bin={out}",
            "--dep",
            "abi",
            f"-Mroot={project.folder / 'src' / 'main.zig'}",
            f"-Mabi={project.sdk / 'abi.zig'}",
        ]
    ]


def _steps_rust(project: Project, out: Path, tmp: Path) -> list[list[str]]:
    rustc = rustc_path()
    common = [rustc, "--target", "wasm32-unknown-unknown", "--edition", "2021", "-O"]
    common += ["-C", "panic=abort", "-C", "strip=symbols"]
    # Panic locations embed source paths: map them so builds match across checkouts.
    common += ["--remap-path-prefix", f"{project.sdk}=sdk"]
    common += ["--remap-path-prefix", f"{project.folder}=."]
    rlib = tmp / "libabi_sdk.rlib"
    sdk_source = str(project.sdk / "abi_sdk.rs")
    source = str(project.folder / "src" / "lib.rs")
    return [
        [*common, "--crate-type", "rlib", "--crate-name", "abi_sdk", sdk_source, "-o", str(rlib)],
        [*common, "--crate-type", "cdylib", "--extern", f"abi_sdk={rlib}", source, "-o", str(out)],
    ]


def _steps_assemblyscript(project: Project, out: Path, _tmp: Path) -> list[list[str]]:
    return [
        [
            asc_path(),
            str(project.folder / "src" / "index.ts"),
            "--runtime",
            "stub",
            "--use",
            "abort=",
            "-O",
            "-o",
            str(out),
        ]
    ]


STEPS: dict[str, Callable[[Project, Path, Path], list[list[str]]]] = {
    "c": _steps_c,
    "zig": _steps_zig,
    "rust": _steps_rust,
    "assemblyscript": _steps_assemblyscript,
}


def _custom_steps(project: Project, out: Path, tmp: Path) -> list[list[str]]:
    assert project.command is not None
    values = {"out": str(out), "sdk": str(project.sdk), "tmp": str(tmp), "src": "src"}
    return [[part.format(**values) for part in project.command]]


def build_project(path: Path, output: Path | None = None) -> Path:
    """Compile the project at ``path``; the module goes to ``output`` (default: next to
    plugin.toml under the manifest's ``module`` name). Returns the module's path."""
    project = load_project(path)
    target = output or project.module_path
    with tempfile.TemporaryDirectory(prefix="abi-build-") as tmp_name:
        tmp = Path(tmp_name)
        built = tmp / "module.wasm"
        steps = (_custom_steps if project.command else STEPS[project.lang])(project, built, tmp)
        for argv in steps:
            _run(argv, project.folder, project.lang)
        if not built.is_file():
            raise BuildFailed(f"the {project.lang} build wrote no module (expected {built})")
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(built, staged)
        os.replace(staged, target)
    return target


# ------------------------------------------------------------------ examples


@dataclass(frozen=True)
class ExampleResult:
    """One example run: its name, entry point, expected and actual output (or error)."""

    name: str
    entry: str
    expected: bytes
    actual: bytes

    @property
    def passed(self) -> bool:
        return self.actual == self.expected


def example_entry(manifest: Manifest, name: str) -> str:
    """The entry point an example runs: ``ENTRY.rest.in`` names one, else the first."""
    head = name.split(".", 1)[0]
    return head if "." in name and head in manifest.entry_points else manifest.entry_points[0]


def run_examples(
    sandbox: Sandbox, folder: Path, module: bytes | None = None
) -> list[ExampleResult]:
    """Run every ``examples/NAME.in`` of a plugin folder (with ``module`` instead of the built
    one when given), each on a fresh instance with every capability granted and empty kv.
    A failed call yields ``error[<code>]: <message>`` as its output."""
    bundle = Bundle.from_folder(folder) if module is None else None
    manifest = bundle.manifest if bundle else load_project(folder).manifest
    loaded = sandbox.load(manifest, bundle.module if bundle else module or b"")
    results = []
    for example in sorted((folder / "examples").glob("*.in")):
        name = example.name[: -len(".in")]
        expected_file = example.with_suffix(".out")
        if not expected_file.is_file():
            raise InvalidInput(f"{example} has no matching {expected_file.name}")
        entry = example_entry(manifest, name)
        plugin = sandbox.bind(
            loaded, services=HostServices(kv=MemoryKeyValueStore()), fresh=True, pool_size=1
        )
        try:
            actual = plugin.call(example.read_bytes(), entry).output
        except PluginCallError as exc:
            actual = f"error[{exc.code}]: {exc.message}".encode()
        finally:
            plugin.close()
        results.append(ExampleResult(name, entry, expected_file.read_bytes(), actual))
    return results


# ------------------------------------------------------------------ new projects


def create_project(name: str, lang: str, parent: Path) -> Path:
    """Create ``parent/name`` from the language's template with the SDK copied into sdk/."""
    if not NAME_RE.match(name):
        raise InvalidInput(
            f"{name!r} is not a valid plugin name: lowercase letters, digits, '-' or '_', "
            "starting with a letter (at most 64 characters)"
        )
    if lang not in LANGUAGES:
        raise InvalidInput(f"unknown language {lang!r} (choose {', '.join(LANGUAGES)})")
    root = sdk_root()
    template = root / "templates" / lang
    parent.mkdir(parents=True, exist_ok=True)
    folder = parent / name
    if folder.exists() and any(folder.iterdir()):
        raise InvalidInput(f"{folder} exists and is not empty; choose another name or --dir")
    symbol = name.replace("-", "_")
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=parent))
    try:
        for source in sorted(template.rglob("*")):
            if source.is_dir() or "node_modules" in source.parts:
                continue
            dest = staging / source.relative_to(template)
            dest.parent.mkdir(parents=True, exist_ok=True)
            text = source.read_text(encoding="utf-8")
            dest.write_text(
                text.replace("{{name}}", name).replace("{{symbol}}", symbol), encoding="utf-8"
            )
        (staging / "sdk").mkdir()
        for file in SDK_FILES[lang]:
            shutil.copyfile(root / lang / file, staging / "sdk" / file)
        if folder.exists():
            folder.rmdir()
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


# ------------------------------------------------------------------ commands


@click.command("new")
@click.argument("name")
@click.option("--lang", type=click.Choice(LANGUAGES), required=True, help="Plugin language.")
@click.option(
    "--dir",
    "parent",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Create the project folder NAME inside this folder.",
)
@handle_errors
def new(name: str, lang: str, parent: Path) -> None:
    """Create a plugin project NAME from the LANG template (with the guest SDK in sdk/)."""
    folder = create_project(name, lang, parent)
    click.echo(str(folder))
    click.echo(
        f"next: abi plugin build {folder} && abi plugin run {folder} "
        f"--input {folder}/examples/hello.in",
        err=True,
    )


@click.command("test")
@click.argument(
    "path", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path(".")
)
@data_dir_option
@handle_errors
def test(path: Path, data_dir: Path | None, config_file: Path | None) -> None:
    """Run the examples/NAME.in files of the plugin at PATH and compare with NAME.out."""
    sandbox = Sandbox(settings_from(data_dir, config_file).plugins)
    results = run_examples(sandbox, path)
    for r in results:
        click.echo(f"{'ok  ' if r.passed else 'FAIL'} {r.name} ({r.entry})")
    failed = [r for r in results if not r.passed]
    if not results:
        raise InvalidInput(f"{path} has no examples/*.in files")
    if failed:
        click.echo(f"{len(failed)} of {len(results)} examples differ", err=True)
        sys.exit(1)


@click.command("build")
@click.argument(
    "path", type=click.Path(exists=True, path_type=Path), default=Path("."), required=False
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the module here instead of next to plugin.toml.",
)
@handle_errors
def build(path: Path, out: Path | None) -> None:
    """Compile the plugin project at PATH (default: the current folder) to its module."""
    target = build_project(path, out)
    click.echo(f"{target} ({target.stat().st_size} bytes)")
