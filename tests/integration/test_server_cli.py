"""The command line: tenants, clients and tokens on local data, and `abi serve` for real."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from abi.cli.main import cli


def _run(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), env={"ABI_CONFIG": None}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_tenant_create_prints_the_admin_credentials(data_dir: Path) -> None:
    created = _run("tenant", "create", "acme", "--data-dir", str(data_dir), "--json")
    assert set(created) >= {"tenant_id", "client_id", "client_secret"}
    listed = _run("tenant", "list", "--data-dir", str(data_dir), "--json")
    assert [t["name"] for t in listed] == ["acme"]


def test_a_duplicate_tenant_is_an_error(data_dir: Path) -> None:
    _run("tenant", "create", "acme", "--data-dir", str(data_dir), "--json")
    result = CliRunner().invoke(cli, ["tenant", "create", "acme", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert "error[tenant.exists]" in result.output


def test_client_create_and_local_token(data_dir: Path) -> None:
    tenant = _run("tenant", "create", "acme", "--data-dir", str(data_dir), "--json")
    client = _run(
        "client", "create", "--tenant", tenant["tenant_id"], "--scopes", "vectors:read",
        "--data-dir", str(data_dir), "--json",
    )  # fmt: skip
    assert client["scopes"] == "vectors:read"
    token = _run(
        "token", "--client-id", client["client_id"], "--client-secret", client["client_secret"],
        "--data-dir", str(data_dir), "--json",
    )  # fmt: skip
    assert token["scope"] == "vectors:read"


def test_token_with_a_wrong_secret_fails(data_dir: Path) -> None:
    tenant = _run("tenant", "create", "acme", "--data-dir", str(data_dir), "--json")
    result = CliRunner().invoke(
        cli,
        ["token", "--client-id", tenant["client_id"], "--client-secret", "nope",
         "--data-dir", str(data_dir)],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "auth.invalid_client" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serve(data_dir: Path, log: Path, *args: str, scheme: str = "http") -> Iterator[str]:
    """`abi serve` in a subprocess, port and data dir given as ABI_* variables."""
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ABI_")},
        "ABI_DATA_DIR": str(data_dir),
        "ABI_SERVER_PORT": str(port),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "abi.cli.main", "serve", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            assert process.poll() is None, log.read_text()
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`abi serve --workers 2` on plain HTTP (one server for the module's tests)."""
    root = tmp_path_factory.mktemp("served")
    log = root / "serve.log"
    with _serve(root / "data", log, "--workers", "2") as url:
        for _ in range(100):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        yield url, log


def test_serve_prints_the_platform_admin_once_and_serves(served: tuple[str, Path]) -> None:
    url, log = served
    text = log.read_text()
    client_id = text.split("client_id:")[1].split()[0]
    secret = text.split("client_secret:")[1].split()[0]
    response = httpx.post(
        f"{url}/api/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    assert response.status_code == 200
    assert "admin" in response.json()["scope"].split()
    tenants = httpx.get(
        f"{url}/api/v1/tenants",
        headers={"Authorization": f"Bearer {response.json()['access_token']}"},
    )
    assert [t["name"] for t in tenants.json()["tenants"]] == ["platform"]


def test_serve_speaks_h2c(served: tuple[str, Path]) -> None:
    url, _ = served
    with httpx.Client(http1=False, http2=True) as client:
        response = client.get(f"{url}/api/v1/health")
    assert response.status_code == 200
    assert response.http_version == "HTTP/2"


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile


def test_serve_with_a_certificate_negotiates_h2_over_tls(data_dir: Path, tmp_path: Path) -> None:
    certfile, keyfile = _self_signed(tmp_path)
    tls = ("--certfile", str(certfile), "--keyfile", str(keyfile))
    with (
        _serve(data_dir, tmp_path / "tls.log", *tls, scheme="https") as url,
        httpx.Client(http2=True, verify=ssl.create_default_context(cafile=str(certfile))) as c,
    ):
        response = c.get(f"{url}/api/v1/health", timeout=30)
    assert response.status_code == 200
    assert response.http_version == "HTTP/2"


def test_token_from_a_running_server(live_server: Any, tenant_factory: Any) -> None:
    acme = tenant_factory("acme")
    token = _run(
        "token", "--client-id", acme.client_id, "--client-secret", acme.client_secret,
        "--scope", "tenants:read", "--server", live_server.url, "--json",
    )  # fmt: skip
    assert token["scope"] == "tenants:read"


def test_token_refused_by_a_running_server_is_an_error(
    live_server: Any, tenant_factory: Any
) -> None:
    acme = tenant_factory("acme")
    result = CliRunner().invoke(
        cli,
        ["token", "--client-id", acme.client_id, "--client-secret", "wrong",
         "--server", live_server.url],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "401" in result.output


def test_client_list_and_text_output(data_dir: Path) -> None:
    tenant = _run("tenant", "create", "acme", "--data-dir", str(data_dir), "--json")
    runner = CliRunner()
    created = runner.invoke(
        cli,
        ["client", "create", "--tenant", "acme", "--role", "reader", "--data-dir", str(data_dir)],
    )
    assert "client_secret" in created.output
    listed = runner.invoke(cli, ["client", "list", "--tenant", "acme", "--data-dir", str(data_dir)])
    assert tenant["client_id"] in listed.output
    assert "reader" in listed.output
    tenants = runner.invoke(cli, ["tenant", "list", "--data-dir", str(data_dir)])
    assert "acme" in tenants.output
