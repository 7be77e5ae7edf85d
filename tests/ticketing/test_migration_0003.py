"""Migration 0003 (calls carry their PBX) on a database that holds 0002 data, on both dialects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, MetaData, Table, select

from tests.ticketing.conftest import make_record
from ticketing import migrate
from ticketing.engine import make_engine
from ticketing.store import TicketStore

EVERYTHING = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def _rows(connection: Connection, name: str) -> list[dict[str, Any]]:
    table = Table(name, MetaData(), autoload_with=connection)
    return [dict(row._mapping) for row in connection.execute(select(table))]


async def test_upgrade_from_0002_puts_existing_calls_on_the_first_pbx(db_url: str) -> None:
    old = make_record(caller_num="13700137000")
    # Store a call and its ticket as the 0002 code did: the record has no "pbx" field.
    before = {name: value for name, value in old.items() if name != "pbx"}
    engine = make_engine(db_url)
    try:
        assert await migrate.upgrade(engine, "0002") == "0002"
        async with engine.begin() as connection:
            await connection.run_sync(_store_as_0002, before)
        assert await migrate.upgrade(engine) == migrate.head()
        async with engine.connect() as connection:
            [call] = await connection.run_sync(_rows, "call_records")
            [ticket] = await connection.run_sync(_rows, "tickets")
        assert (call["pbx"], call["key"]) == ("pbx1", old["key"])
        assert (ticket["call_pbx"], ticket["call_key"]) == ("pbx1", old["key"])
    finally:
        await engine.dispose()

    store = await TicketStore.open(db_url)
    try:
        # The old call is recognised: stored again by an upgraded service, it is not doubled.
        assert await store.save_calls([old]) == 0
        # The same uniqueid on another Asterisk is another call, with its own ticket.
        other = {**old, "pbx": "pbx2", "linkedid": "pbx2-" + old["linkedid"]}
        assert await store.save_calls([other]) == 1
        stored = await store.calls_between(*EVERYTHING)
        assert sorted((r["pbx"], r["key"]) for r in stored) == [
            ("pbx1", old["key"]),
            ("pbx2", old["key"]),
        ]
        assert await store.save_calls([other, old]) == 0
    finally:
        await store.close()


def _store_as_0002(connection: Connection, record: dict[str, Any]) -> None:
    from ticketing.call_rows import call_row

    row = call_row(record, datetime.now(UTC))
    calls = Table("call_records", MetaData(), autoload_with=connection)
    tickets = Table("tickets", MetaData(), autoload_with=connection)
    assert "pbx" not in calls.columns and "call_pbx" not in tickets.columns
    connection.execute(calls.insert(), [{k: v for k, v in row.items() if k in calls.columns}])
    connection.execute(
        tickets.insert(),
        [
            {
                # Out of the way of the ticket counter.
                "number": "12345-20261123-900001",
                "call_key": row["key"],
                "linkedid": row["linkedid"],
                "category": "consultation",
                "status": "registered",
                "urgency": "normal",
                "content": "",
                "created_at": row["counted_at"],
                "updated_at": row["counted_at"],
                "version": 1,
            }
        ],
    )


async def test_each_pbx_restarts_from_its_own_newest_call(store: TicketStore) -> None:
    early = make_record(queue_entered_at=1_795_428_100.0)
    late = {**make_record(queue_entered_at=1_795_428_900.0), "pbx": "pbx2"}
    assert await store.save_calls([early, late]) == 2
    assert await store.latest_call_end() == late["ended_at"]
    assert await store.latest_call_end("pbx2") == late["ended_at"]
    # pbx1's downtime began at its own newest call, not at pbx2's.
    assert await store.latest_call_end("pbx1") == early["ended_at"]
    assert await store.latest_call_end("pbx9") is None
