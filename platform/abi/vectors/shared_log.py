"""The shared write-ahead log: a collection's records kept in the metadata database
(``vectors.replication = "database"``), so every node's copy of the collection follows one
ordered history, and a node that loses its disk, or a new node, rebuilds from it.

A writer bumps the log's head row (``UPDATE vector_logs SET seq = seq + n``), which takes the
row lock that orders the writers of every node, inserts its records and commits: a record is
never visible before the ones numbered below it. Readers pull the records after the last one
they applied. Records live as long as the collection, so a new node replays from the first;
restoring a backup of the collection starts a fresh log holding only its live vectors.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from abi.store import Database, TenantScope
from abi.vectors.tables import vector_log_records, vector_logs

PULL_PAGE = 256
"""Records fetched per query while catching up (bounds memory on a long replay)."""


class LogGone(Exception):
    """The collection was dropped (or dropped and created again) by another node."""


def _fresh_id() -> str:
    return uuid.uuid4().hex


def _drop_records(conn: Connection, scope: TenantScope, name: str) -> None:
    head = scope.one(conn, vector_logs, vector_logs.c.name == name)
    if head is not None:
        conn.execute(
            vector_log_records.delete().where(vector_log_records.c.log_id == head["log_id"])
        )
        scope.delete(conn, vector_logs, vector_logs.c.name == name)


class SharedLog:
    """One collection's log in the database; the interface of :class:`WriteAheadLog`."""

    shared = True

    def __init__(self, db: Database, tenant_id: str, name: str, log_id: str) -> None:
        self.db = db
        self.scope = TenantScope(tenant_id)
        self.name = name
        self.log_id = log_id
        self._last_seq_query = sa.select(vector_logs.c.seq).where(self._head())

    # -- the log's life, inside the caller's transaction -----------------------------

    @classmethod
    def attach(cls, db: Database, tenant_id: str, name: str) -> SharedLog | None:
        """The collection's log, or None when it has none yet."""
        with db.begin() as conn:
            head = TenantScope(tenant_id).one(conn, vector_logs, vector_logs.c.name == name)
        return None if head is None else cls(db, tenant_id, name, head["log_id"])

    @staticmethod
    def create(conn: Connection, tenant_id: str, name: str, bodies: Iterable[bytes] = ()) -> str:
        """Start the collection's log with ``bodies`` as its first records, replacing any
        log it had; returns the new log id. A concurrent create of the same log fails on
        the head's primary key."""
        scope = TenantScope(tenant_id)
        _drop_records(conn, scope, name)
        log_id = _fresh_id()
        rows = [
            {"log_id": log_id, "seq": seq, "tenant_id": tenant_id, "body": body}
            for seq, body in enumerate(bodies, start=1)
        ]
        scope.insert(conn, vector_logs, {"name": name, "log_id": log_id, "seq": len(rows)})
        if rows:
            conn.execute(vector_log_records.insert(), rows)
        return log_id

    @staticmethod
    def drop(conn: Connection, tenant_id: str, name: str) -> None:
        """Delete the collection's log and every record in it."""
        _drop_records(conn, TenantScope(tenant_id), name)

    # -- records ---------------------------------------------------------------------

    def _head(self) -> sa.ColumnElement[bool]:
        return self.scope.where(
            vector_logs, vector_logs.c.name == self.name, vector_logs.c.log_id == self.log_id
        )

    def append(self, bodies: list[bytes]) -> int:
        """Append records after every record any node appended before; returns the sequence
        number of the last one. ``LogGone`` if the collection was dropped meanwhile."""
        with self.db.begin() as conn:
            bumped = conn.execute(
                vector_logs.update().where(self._head()).values(seq=vector_logs.c.seq + len(bodies))
            )
            if bumped.rowcount != 1:
                raise LogGone(self.name)
            last = int(conn.execute(sa.select(vector_logs.c.seq).where(self._head())).scalar_one())
            first = last - len(bodies) + 1
            conn.execute(
                vector_log_records.insert(),
                [
                    {"log_id": self.log_id, "seq": first + i, "tenant_id": self.scope.tenant_id,
                     "body": body}
                    for i, body in enumerate(bodies)
                ],
            )  # fmt: skip
        return last

    def last_seq(self) -> int:
        """The sequence number of the log's last record; ``LogGone`` if the collection was
        dropped or replaced. One indexed read, made before every use of the collection."""
        with self.db.engine.connect() as conn:
            seq = conn.execute(self._last_seq_query).scalar()
        if seq is None:
            raise LogGone(self.name)
        return int(seq)

    def replay(self, after_seq: int) -> Iterator[tuple[int, bytes]]:
        """Yield (seq, body) of every record with ``seq > after_seq``, in order, a page per
        query; ``LogGone`` if the collection was dropped or replaced."""
        while self.last_seq() > after_seq:
            with self.db.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(vector_log_records.c.seq, vector_log_records.c.body)
                    .where(
                        vector_log_records.c.log_id == self.log_id,
                        vector_log_records.c.seq > after_seq,
                    )
                    .order_by(vector_log_records.c.seq)
                    .limit(PULL_PAGE)
                ).all()
            for seq, body in rows:
                yield int(seq), bytes(body)
                after_seq = int(seq)

    def size_bytes(self) -> int:
        """Bytes of record bodies held for this collection."""
        with self.db.begin() as conn:
            total = conn.execute(
                sa.select(sa.func.sum(sa.func.length(vector_log_records.c.body))).where(
                    vector_log_records.c.log_id == self.log_id
                )
            ).scalar()
        return int(total or 0)

    # A shared log has no local segments: the file log's housekeeping does nothing here.

    def rotate(self) -> None:
        return None

    def drop_through(self, seq: int) -> None:
        return None

    def close(self) -> None:
        return None
