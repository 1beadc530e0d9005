from pathlib import Path

import pytest
import sqlalchemy as sa

from abi.errors import ConfigError, Conflict, InvalidInput, NotFound
from abi.runtime import Platform
from abi.store import BlobStore, Database, Migration, TenantScope
from abi.store.blobs import BlobCorrupted
from abi.store.migrations import applied_versions, create_tables

_notes = sa.Table(
    "test_notes",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("body", sa.String(100), nullable=False),
)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    database.migrate([Migration("notes", 1, "create notes", create_tables(_notes))])
    return database


def test_migrations_apply_once_and_in_order(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    calls: list[int] = []
    steps = [
        Migration("c", 2, "second", lambda _conn: calls.append(2)),
        Migration("c", 1, "first", lambda _conn: calls.append(1)),
    ]
    assert len(database.migrate(steps)) == 2
    assert database.migrate(steps) == []
    assert calls == [1, 2]
    assert applied_versions(database.engine) == {"c": 2}


def test_migration_chain_with_gap_is_refused(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    with pytest.raises(ConfigError, match="without gaps"):
        database.migrate([Migration("c", 2, "orphan", lambda _conn: None)])


def test_failed_migration_is_not_recorded(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'meta.db'}")

    def broken(conn: sa.Connection) -> None:
        conn.execute(sa.text("CREATE TABLE half (id INTEGER)"))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        database.migrate([Migration("c", 1, "broken", broken)])
    assert applied_versions(database.engine) == {}


def test_scope_reads_only_its_tenant(db: Database) -> None:
    alice, bob = TenantScope("alice"), TenantScope("bob")
    with db.begin() as conn:
        alice.insert(conn, _notes, {"body": "a1"})
        bob.insert(conn, _notes, {"body": "b1"})
    with db.begin() as conn:
        assert [row["body"] for row in alice.all(conn, _notes)] == ["a1"]
        assert bob.one(conn, _notes, _notes.c.body == "a1") is None


def test_scope_cannot_touch_other_tenant_rows(db: Database) -> None:
    alice, bob = TenantScope("alice"), TenantScope("bob")
    with db.begin() as conn:
        alice.insert(conn, _notes, {"body": "a1"})
        assert bob.update(conn, _notes, {"body": "hacked"}) == 0
        assert bob.delete(conn, _notes) == 0
        assert alice.one(conn, _notes)["body"] == "a1"  # type: ignore[index]


def test_scope_refuses_foreign_tenant_id(db: Database) -> None:
    with db.begin() as conn, pytest.raises(InvalidInput):
        TenantScope("alice").insert(conn, _notes, {"body": "x", "tenant_id": "bob"})


def test_scope_refuses_tables_without_tenant_column() -> None:
    table = sa.Table("plain", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))
    with pytest.raises(TypeError, match="no tenant_id"):
        TenantScope("alice").select(table)


def test_blob_round_trip_is_content_addressed(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    digest = blobs.put(b"hello")
    assert digest == blobs.put(b"hello")
    assert blobs.get(digest) == b"hello"
    assert blobs.exists(digest)
    assert blobs.delete(digest)
    assert not blobs.delete(digest)


def test_blob_corruption_is_detected(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    digest = blobs.put(b"hello")
    blobs.path(digest).write_bytes(b"tampered")
    with pytest.raises(BlobCorrupted):
        blobs.get(digest)


def test_blob_bad_digest_and_missing(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    with pytest.raises(InvalidInput):
        blobs.get("../etc/passwd")
    with pytest.raises(NotFound):
        blobs.get("0" * 64)


def test_tenants_create_and_find(platform: Platform) -> None:
    tenant = platform.tenants.create("acme")
    assert platform.tenants.get(tenant.id) == tenant
    assert platform.tenants.by_name("acme") == tenant
    assert [t.name for t in platform.tenants.list()] == ["acme"]


def test_tenant_names_are_validated_and_unique(platform: Platform) -> None:
    platform.tenants.create("acme")
    with pytest.raises(Conflict):
        platform.tenants.create("acme")
    with pytest.raises(InvalidInput):
        platform.tenants.create("Bad Name")
    with pytest.raises(NotFound):
        platform.tenants.get("t_missing")
