"""Versioned schema migrations, one ordered chain per component.

Each subsystem owns its chain (``component``, versions 1, 2, ...). Applied steps are recorded
in ``schema_migrations``; a step runs once, in order, inside a transaction. A chain with a
gap or a duplicate version is refused before anything runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from abi.errors import ConfigError

_history = sa.Table(
    "schema_migrations",
    sa.MetaData(),
    sa.Column("component", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("description", sa.String(256), nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Migration:
    """One schema change of one component."""

    component: str
    version: int
    description: str
    upgrade: Callable[[Connection], None]


def create_tables(*tables: sa.Table) -> Callable[[Connection], None]:
    """An upgrade step that creates the given tables (and their indexes)."""

    def upgrade(conn: Connection) -> None:
        for table in tables:
            table.create(conn, checkfirst=True)

    return upgrade


def _check_chains(migrations: Sequence[Migration]) -> None:
    by_component: dict[str, list[int]] = {}
    for step in migrations:
        by_component.setdefault(step.component, []).append(step.version)
    for component, versions in by_component.items():
        if sorted(versions) != list(range(1, len(versions) + 1)):
            raise ConfigError(
                f"migration chain of {component!r} must be versions 1..n without gaps or "
                f"duplicates, got {sorted(versions)}"
            )


def apply_migrations(engine: Engine, migrations: Sequence[Migration]) -> list[Migration]:
    """Apply every step not yet recorded, in (component, version) order."""
    _check_chains(migrations)
    _history.create(engine, checkfirst=True)
    applied: list[Migration] = []
    with engine.begin() as conn:
        done = {(row.component, row.version) for row in conn.execute(sa.select(_history))}
    for step in sorted(migrations, key=lambda m: (m.component, m.version)):
        if (step.component, step.version) in done:
            continue
        with engine.begin() as conn:
            step.upgrade(conn)
            conn.execute(
                _history.insert().values(
                    component=step.component,
                    version=step.version,
                    description=step.description,
                    applied_at=datetime.now(UTC),
                )
            )
        applied.append(step)
    return applied


def applied_versions(engine: Engine) -> dict[str, int]:
    """The highest applied version per component."""
    _history.create(engine, checkfirst=True)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(_history.c.component, sa.func.max(_history.c.version)).group_by(
                _history.c.component
            )
        )
        return {component: int(version) for component, version in rows}
