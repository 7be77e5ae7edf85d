"""Migration 0002 on a database that already holds 0001 data, on both dialects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, MetaData, Table, inspect

from tests.ticketing.conftest import at, make_record
from ticketing import migrate
from ticketing.engine import make_engine
from ticketing.store import TicketStore, call_row

EVERYTHING = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
NEW_TABLES = {"survey_results", "incidents", "incident_reports", "users", "access_log"}
NEW_COLUMNS = {"incident_id", "callback_requested", "language"}


def _insert_as_0001(connection: Connection, row: dict[str, Any]) -> None:
    # The 0001 table as the database has it: the current model has columns 0001 lacks.
    table = Table("call_records", MetaData(), autoload_with=connection)
    assert not NEW_COLUMNS & set(table.columns.keys())
    connection.execute(table.insert(), [{k: v for k, v in row.items() if k in table.columns}])


def _columns(connection: Connection) -> set[str]:
    return {column["name"] for column in inspect(connection).get_columns("call_records")}


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_from_0001_keeps_the_calls_and_adds_the_new_schema(db_url: str) -> None:
    old = make_record(caller_num="13700137000")
    engine = make_engine(db_url)
    try:
        assert await migrate.upgrade(engine, "0001") == "0001"
        async with engine.begin() as connection:
            assert not NEW_TABLES & await connection.run_sync(_tables)
            await connection.run_sync(_insert_as_0001, call_row(old, at(old["ended_at"])))
        assert await migrate.upgrade(engine, "0002") == "0002"
        async with engine.connect() as connection:
            assert NEW_COLUMNS <= await connection.run_sync(_columns)
            assert NEW_TABLES <= await connection.run_sync(_tables)
    finally:
        await engine.dispose()

    store = await TicketStore.open(db_url)
    try:
        [stored] = await store.calls_between(*EVERYTHING)
        # The old row reads as a record without an IVR outcome and without a survey.
        assert stored == {**old, "survey": None}
        assert (stored["incident_id"], stored["callback_requested"], stored["language"]) == (
            None,
            False,
            None,
        )
        # And the new columns and tables work on the upgraded database.
        new = make_record(incident_id="INC-1", callback_requested=True, language="en")
        assert await store.save_calls([new]) == 1
        assert await store.record_survey(old["linkedid"], "satisfied", at(old["ended_at"] + 5))
        by_key = {record["key"]: record for record in await store.calls_between(*EVERYTHING)}
        assert by_key[old["key"]]["survey"] == "satisfied"
        assert by_key[new["key"]] == {**new, "survey": None}
    finally:
        await store.close()
