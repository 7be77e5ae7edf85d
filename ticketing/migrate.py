"""Schema migrations (Alembic) run from code: no alembic.ini needed.

``upgrade(engine)`` brings a database to the newest schema; ``current(engine)`` tells which
revision it is at. On PostgreSQL an advisory lock makes concurrent service instances that start
together migrate one after the other instead of racing on CREATE TABLE.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.engine import make_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# An arbitrary constant: the key of the advisory lock held while migrating.
_PG_MIGRATION_LOCK = 1_234_512_345


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision the code knows."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision is None:  # pragma: no cover - there is always at least 0001
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return revision


class _OneLine(logging.Filter):
    """Alembic logs "Running upgrade a -> b, <the revision's docstring>", and ours span
    several lines: `hotline serve`'s start printed them as broken lines among the others.
    One line each, the whitespace collapsed."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "\n" in message:
            record.msg, record.args = " ".join(message.split()), None
        return True


_ALEMBIC_LOG = logging.getLogger("alembic.runtime.migration")
_ONE_LINE = _OneLine()


def _upgrade(connection: Connection, revision: str) -> str | None:
    if _ONE_LINE not in _ALEMBIC_LOG.filters:
        _ALEMBIC_LOG.addFilter(_ONE_LINE)
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    command.upgrade(alembic_config(connection), revision)
    return _current(connection)


def _prepare_sqlite(connection: Connection) -> None:
    """Before migrating SQLite: foreign keys off, leftovers of a failed rebuild dropped.

    Batch mode rebuilds a table (copy, drop, rename): with foreign keys enforced, the drop of
    ``tickets`` fails as soon as ``ticket_events`` has a row, as SQLite's documentation warns.
    A rebuild that failed so left its ``_alembic_tmp_*`` copy behind (the original is intact),
    and every later attempt failed on it.
    """
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    leftovers = connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '_alembic_tmp_%'"
    ).scalars()
    for name in list(leftovers):
        if name.startswith("_alembic_tmp_"):  # LIKE's "_" matches any one character
            connection.exec_driver_sql(f'DROP TABLE "{name}"')


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> str | None:
    """Migrate the database behind ``engine`` to ``revision``; return the revision reached."""
    async with engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            async with connection.begin():
                return await connection.run_sync(_upgrade, revision)
        # The pragma is ignored inside a transaction: set it, commit, migrate, and turn it
        # back on for this pooled connection whatever happened.
        await connection.run_sync(_prepare_sqlite)
        await connection.commit()
        try:
            reached = await connection.run_sync(_upgrade, revision)
            await connection.commit()
        finally:
            await connection.rollback()
            await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            await connection.commit()
        return reached


async def current(engine: AsyncEngine) -> str | None:
    """The database's revision, or None for a database never migrated."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def upgrade_url(url: str, revision: str = "head") -> str | None:
    engine = make_engine(url)
    try:
        return await upgrade(engine, revision)
    finally:
        await engine.dispose()


async def current_url(url: str) -> str | None:
    engine = make_engine(url)
    try:
        return await current(engine)
    finally:
        await engine.dispose()
