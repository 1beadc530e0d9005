"""Token revocation: a denylist of token ids (jti) and of clients, in SQL.

Validation consults an in-memory copy that is refreshed from the store at most every
``refresh_seconds``, so a revocation made by another worker takes effect within that time
(immediately in the worker that made it).
"""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from abi.security.tables import revocations
from abi.store import Database
from abi.store.types import utcnow


class RevocationList:
    """Revoked token ids and clients (with the time from which the client's tokens are void)."""

    def __init__(self, db: Database, refresh_seconds: float = 1.0) -> None:
        self.db = db
        self.refresh_seconds = refresh_seconds
        self._jtis: set[str] = set()
        self._clients: dict[str, float] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def _add(self, kind: str, subject: str, tenant_id: str, expires_at: int) -> None:
        values = {
            "kind": kind,
            "subject": subject,
            "tenant_id": tenant_id,
            "expires_at": expires_at,
            "revoked_at": utcnow(),
        }
        with self.db.begin() as conn:
            conn.execute(
                revocations.delete().where(
                    revocations.c.kind == kind, revocations.c.subject == subject
                )
            )
            conn.execute(revocations.insert().values(**values))

    def revoke_token(self, tenant_id: str, jti: str, expires_at: int) -> None:
        """Deny the token ``jti`` until it would expire anyway."""
        self._add("jti", jti, tenant_id, expires_at)
        with self._lock:
            self._jtis.add(jti)

    def revoke_client(self, tenant_id: str, client_id: str, max_token_ttl: int) -> None:
        """Deny every token issued to ``client_id`` up to now."""
        now = time.time()
        self._add("client", client_id, tenant_id, int(now) + max_token_ttl)
        with self._lock:
            self._clients[client_id] = now

    def refresh(self) -> None:
        """Reload the denylist from the store (rows whose tokens can still be live)."""
        now = int(time.time())
        with self.db.begin() as conn:
            rows = conn.execute(
                sa.select(
                    revocations.c.kind, revocations.c.subject, revocations.c.revoked_at
                ).where(revocations.c.expires_at >= now)
            ).all()
        jtis = {subject for kind, subject, _ in rows if kind == "jti"}
        clients = {subject: at.timestamp() for kind, subject, at in rows if kind == "client"}
        with self._lock:
            self._jtis, self._clients = jtis, clients
            self._loaded_at = time.monotonic()

    def is_stale(self) -> bool:
        return time.monotonic() - self._loaded_at >= self.refresh_seconds

    def is_revoked(self, jti: str, client_id: str, issued_at: float) -> bool:
        """True when the token id is denied or its client was revoked after issuing it.

        Reloads first when the copy is older than ``refresh_seconds`` (a blocking query:
        async callers refresh in a thread beforehand, see :meth:`is_stale`)."""
        if self.is_stale():
            self.refresh()
        with self._lock:
            if jti in self._jtis:
                return True
            revoked_at = self._clients.get(client_id)
        return revoked_at is not None and issued_at <= revoked_at

    def purge_expired(self) -> int:
        """Delete rows whose tokens have all expired; returns how many."""
        with self.db.begin() as conn:
            result = conn.execute(
                revocations.delete().where(revocations.c.expires_at < int(time.time()))
            )
        return int(result.rowcount)
