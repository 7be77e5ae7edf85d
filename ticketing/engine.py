"""The async engine for the ticket store, tuned per dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

# An unreachable server must fail fast so the writer can buffer instead of hanging.
CONNECT_TIMEOUT_S = 5.0


def make_engine(url: str, **options: Any) -> AsyncEngine:
    """Create an engine for ``sqlite+aiosqlite://…`` or ``postgresql+asyncpg://…``."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, in_memory=parsed.database in (None, "", ":memory:"), **options)
    if backend == "postgresql":
        connect_args = {"timeout": CONNECT_TIMEOUT_S, "command_timeout": 60}
        # pre_ping drops connections a restarted server has killed before they are used.
        return create_async_engine(url, pool_pre_ping=True, connect_args=connect_args, **options)
    raise ValueError(
        f"unsupported database URL {url!r}: use sqlite+aiosqlite or postgresql+asyncpg"
    )


def _sqlite_engine(url: str, *, in_memory: bool, **options: Any) -> AsyncEngine:
    if in_memory:
        # Every new connection to :memory: is a new empty database; share one.
        options.setdefault("poolclass", StaticPool)
    engine = create_async_engine(url, connect_args={"timeout": 30}, **options)

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets readers (reports, screen pops) run while the writer commits.
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine
