"""Clients, API keys, the audit log, revocation, signing keys and bootstrap, on a real store."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from abi.config import Settings
from abi.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from abi.runtime import Platform
from abi.security import Role
from abi.security.keys import SigningKeys
from abi.security.revocation import RevocationList
from abi.security.tables import oauth_clients


def test_client_secret_is_stored_hashed_and_checked(platform: Platform) -> None:
    tenant = platform.tenants.create("acme")
    client, secret = platform.security.clients.create(tenant.id, "ci", Role.DEVELOPER)
    with platform.db.begin() as conn:
        stored = conn.execute(sa.select(oauth_clients.c.secret_hash)).scalar_one()
    assert secret not in stored
    found = platform.security.clients.find(client.client_id)
    assert found is not None
    assert found.check_client_secret(secret)
    assert not found.check_client_secret(secret + "x")


def test_clients_are_scoped_to_their_tenant(platform: Platform) -> None:
    acme, other = platform.tenants.create("acme"), platform.tenants.create("other")
    client, _ = platform.security.clients.create(acme.id, "ci", Role.READER)
    with pytest.raises(NotFound):
        platform.security.clients.get(other.id, client.client_id)
    with pytest.raises(NotFound):
        platform.security.clients.delete(other.id, client.client_id)
    assert platform.security.clients.list(other.id) == []


def test_client_names_are_validated(platform: Platform) -> None:
    with pytest.raises(InvalidInput):
        platform.security.clients.create("t_x", "", Role.READER)


def test_allowed_scope_intersects_the_request(platform: Platform) -> None:
    client, _ = platform.security.clients.create("t_x", "ci", Role.READER, "vectors:read")
    assert client.get_allowed_scope("vectors:read vectors:write") == "vectors:read"
    assert client.get_allowed_scope(None) == "vectors:read"


def test_api_key_authenticates_to_its_principal(platform: Platform) -> None:
    record, key = platform.security.api_keys.create("t_x", "ci", Role.DEVELOPER, "vectors:read")
    principal = platform.security.api_keys.authenticate(key)
    assert (principal.tenant_id, principal.client_id, principal.via) == (
        "t_x",
        record.key_id,
        "api_key",
    )
    assert principal.scopes == frozenset({"vectors:read"})


def test_api_key_ttl_is_validated(platform: Platform) -> None:
    with pytest.raises(InvalidInput):
        platform.security.api_keys.create("t_x", "ci", Role.READER, ttl_days=0)


def test_revoked_api_key_no_longer_authenticates(platform: Platform) -> None:
    record, key = platform.security.api_keys.create("t_x", "ci", Role.READER)
    platform.security.api_keys.revoke("t_x", record.key_id)
    with pytest.raises(Unauthenticated):
        platform.security.api_keys.authenticate(key)


def test_audit_entries_are_per_tenant_and_newest_first(platform: Platform) -> None:
    audit = platform.security.audit
    audit.record("t_a", "plugin.install", actor="c1", target="echo")
    audit.record("t_a", "plugin.delete", actor="c1", target="echo", version="1.0")
    audit.record("t_b", "plugin.install", actor="c2", target="other")
    entries = audit.query("t_a")
    assert [e.action for e in entries] == ["plugin.delete", "plugin.install"]
    assert entries[0].details == {"version": "1.0"}
    assert [e.target for e in audit.query("t_b")] == ["other"]


def test_audit_query_filters(platform: Platform) -> None:
    audit = platform.security.audit
    audit.record("t_a", "plugin.install", actor="c", target="x")
    audit.record("t_a", "token.issue", actor="c")
    assert [e.action for e in audit.query("t_a", action="plugin.*")] == ["plugin.install"]
    assert audit.query("t_a", since=datetime.now(UTC) + timedelta(minutes=1)) == []
    newest = audit.query("t_a", limit=1)[0]
    assert [e.action for e in audit.query("t_a", before_id=newest.id)] == ["plugin.install"]
    with pytest.raises(InvalidInput):
        audit.query("t_a", limit=0)


def test_revocations_reach_other_workers_after_a_refresh(platform: Platform) -> None:
    here = platform.security.revocations
    elsewhere = RevocationList(platform.db, refresh_seconds=3600)
    elsewhere.refresh()
    here.revoke_token("t_a", "jti-1", int(time.time()) + 60)
    assert here.is_revoked("jti-1", "c", time.time())
    assert not elsewhere.is_revoked("jti-1", "c", time.time())
    elsewhere.refresh()
    assert elsewhere.is_revoked("jti-1", "c", time.time())


def test_client_revocation_covers_tokens_issued_before_it(platform: Platform) -> None:
    revocations = platform.security.revocations
    issued = time.time() - 10
    revocations.revoke_client("t_a", "c1", 3600)
    assert revocations.is_revoked("any", "c1", issued)
    assert not revocations.is_revoked("any", "c2", issued)
    assert not revocations.is_revoked("any", "c1", time.time() + 10)


def test_expired_revocations_are_purged(platform: Platform) -> None:
    revocations = platform.security.revocations
    revocations.revoke_token("t_a", "old", int(time.time()) - 1)
    revocations.revoke_token("t_a", "live", int(time.time()) + 60)
    assert revocations.purge_expired() == 1


def test_signing_key_persists_across_restarts(settings: Settings) -> None:
    first = SigningKeys(settings.data_dir / "keys")
    again = SigningKeys(settings.data_dir / "keys")
    assert first.kid == again.kid
    assert first.jwks() == again.jwks()
    assert "d" not in first.jwks()["keys"][0]
    assert (settings.data_dir / "keys" / "signing.jwk").stat().st_mode & 0o777 == 0o600


def test_bootstrap_creates_the_platform_admin_only_once(platform: Platform) -> None:
    issued = platform.security.bootstrap_admin()
    assert issued is not None
    assert issued.client.role is Role.PLATFORM_ADMIN
    assert platform.security.bootstrap_admin() is None


def test_the_platform_tenant_name_is_reserved(platform: Platform) -> None:
    with pytest.raises(Conflict):
        platform.security.create_tenant("platform")


def test_missing_credentials_explain_how_to_authenticate(platform: Platform) -> None:
    with pytest.raises(Unauthenticated, match="oauth/token"):
        platform.security.authenticate(None)


def test_a_remembered_token_still_expires(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = platform.tenants.create("acme")
    client, _ = platform.security.clients.create(tenant.id, "ci", Role.READER)
    token = platform.security.tokens.issue(client)
    header = f"Bearer {token['access_token']}"
    assert platform.security.authenticate(header).client_id == client.client_id
    later = time.time() + token["expires_in"] + 5
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(Unauthenticated):
        platform.security.authenticate(header)
