from pathlib import Path

import pytest

from abi.config import load_settings
from abi.errors import ConfigError


def test_defaults_bind_loopback() -> None:
    settings = load_settings(environ={})
    assert settings.server.host == "127.0.0.1"
    assert settings.database_url.startswith("sqlite:///")


def test_toml_file_overrides_defaults(tmp_path: Path) -> None:
    config = tmp_path / "abi.toml"
    config.write_text('[server]\nport = 9001\n[vectors]\nfsync = "always"\n')
    settings = load_settings(config, environ={})
    assert settings.server.port == 9001
    assert settings.vectors.fsync == "always"


def test_environment_overrides_file(tmp_path: Path) -> None:
    config = tmp_path / "abi.toml"
    config.write_text("[server]\nport = 9001\n")
    settings = load_settings(config, environ={"ABI_SERVER_PORT": "9002"})
    assert settings.server.port == 9002


def test_flags_override_environment() -> None:
    settings = load_settings(
        environ={"ABI_SERVER_PORT": "9002"}, overrides={"server": {"port": 9003}}
    )
    assert settings.server.port == 9003


def test_top_level_and_alias_variables() -> None:
    settings = load_settings(environ={"ABI_DATA_DIR": "/tmp/x", "ABI_COMPUTE": "numpy"})
    assert settings.data_dir == Path("/tmp/x")
    assert settings.compute.backend == "numpy"


def test_list_values_parse_from_json() -> None:
    settings = load_settings(environ={"ABI_SERVER_CORS_ORIGINS": '["https://a.example"]'})
    assert settings.server.cors_origins == ["https://a.example"]


def test_bad_value_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"server\.port"):
        load_settings(environ={"ABI_SERVER_PORT": "eighty"})


def test_unknown_variable_is_refused() -> None:
    with pytest.raises(ConfigError, match="ABI_SERVR_PORT"):
        load_settings(environ={"ABI_SERVR_PORT": "1"})


def test_unknown_file_key_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "abi.toml"
    config.write_text("[server]\nprot = 1\n")
    with pytest.raises(ConfigError, match=r"server\.prot"):
        load_settings(config, environ={})


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_malformed_toml_is_reported(tmp_path: Path) -> None:
    config = tmp_path / "abi.toml"
    config.write_text("[server\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(config, environ={})
