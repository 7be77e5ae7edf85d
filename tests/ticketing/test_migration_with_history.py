"""Upgrading a SQLite database that holds what the service really writes: a call, its ticket
and the ticket's events. SQLite migrations rebuild tables (copy, drop, rename); with foreign
keys enforced, dropping `tickets` while `ticket_events` points at it failed with "FOREIGN KEY
constraint failed" and left `_alembic_tmp_tickets` behind, so every later start failed too."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, Table, select

from tests.ticketing.conftest import make_record
from tests.ticketing.test_migration_0003 import _store_as_0002
from ticketing import migrate
from ticketing.engine import make_engine
from ticketing.store import TicketStore

EVERYTHING = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def _add_event(connection: Connection) -> None:
    tickets = Table("tickets", MetaData(), autoload_with=connection)
    events = Table("ticket_events", MetaData(), autoload_with=connection)
    ticket_id = connection.execute(select(tickets.c.id)).scalar_one()
    row: dict[str, Any] = {
        "ticket_id": ticket_id,
        "at": datetime.now(UTC).replace(tzinfo=None),
        "kind": "created",
        "actor": "system",
        "data": {},
    }
    connection.execute(events.insert(), [row])


async def test_a_sqlite_database_with_ticket_history_upgrades(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    old = make_record()
    engine = make_engine(url)
    try:
        assert await migrate.upgrade(engine, "0002") == "0002"
        async with engine.begin() as connection:
            await connection.run_sync(_store_as_0002, {k: v for k, v in old.items() if k != "pbx"})
            await connection.run_sync(_add_event)
        assert await migrate.upgrade(engine) == migrate.head()
    finally:
        await engine.dispose()
    store = await TicketStore.open(url)
    try:
        assert [r["key"] for r in await store.calls_between(*EVERYTHING)] == [old["key"]]
        assert await store.save_calls([make_record()]) == 1  # foreign keys are on again
        async with store.engine.connect() as connection:
            enforced = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar_one()
        assert enforced == 1
    finally:
        await store.close()
