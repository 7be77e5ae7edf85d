"""Schema migrations: from an empty database to head on both dialects; the CLI commands."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Connection, inspect

from hotline.cli import cli
from ticketing import migrate
from ticketing.engine import make_engine
from ticketing.models import Base
from ticketing.store import TicketStore

TABLES = {"call_records", "tickets", "ticket_events", "ticket_counters", "kpi_exclusions"}


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _schema_drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_empty_database_migrates_to_head_once(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert await migrate.current(engine) is None
        assert await migrate.upgrade(engine) == migrate.head()
        assert await migrate.current(engine) == migrate.head()
        # Running it again (every start does) changes nothing.
        assert await migrate.upgrade(engine) == migrate.head()
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) >= TABLES
            # The hand-written migration and the models describe the same schema.
            assert await connection.run_sync(_schema_drift) == []
    finally:
        await engine.dispose()


async def test_opening_a_store_migrates_an_empty_database(db_url: str) -> None:
    store = await TicketStore.open(db_url)
    try:
        assert await migrate.current(store.engine) == migrate.head()
    finally:
        await store.close()


def test_db_commands_upgrade_and_report_the_revision(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The URL comes from the settings (environment here), as `hotline db` reads it in production.
    monkeypatch.setenv("HOTLINE_DATABASE__URL", db_url)
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    runner = CliRunner()

    before = runner.invoke(cli, ["db", "current"])
    assert before.exit_code == 0, before.output
    assert before.output.startswith("none (behind head")

    upgraded = runner.invoke(cli, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert f"at revision {migrate.head()}" in upgraded.output

    after = runner.invoke(cli, ["db", "current", "--url", db_url])
    assert after.exit_code == 0, after.output
    assert after.output.strip() == f"{migrate.head()} (up to date)"


def test_db_command_reports_an_unreachable_database_clearly() -> None:
    result = CliRunner().invoke(
        cli, ["db", "upgrade", "--url", "postgresql+asyncpg://nobody:secret@127.0.0.1:1/none"]
    )
    assert result.exit_code == 1
    assert "cannot migrate postgresql+asyncpg://nobody:***@127.0.0.1:1/none" in result.output
    assert "secret" not in result.output


async def test_each_migration_is_one_log_line(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """`hotline serve` migrates at start: Alembic's "Running upgrade …, <docstring>" lines
    came out broken over several lines (our revisions' docstrings wrap)."""
    engine = make_engine(db_url)
    try:
        with caplog.at_level(logging.INFO, logger="alembic.runtime.migration"):
            await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    upgrades = [r.getMessage() for r in caplog.records if "Running upgrade" in r.getMessage()]
    assert upgrades, "no migration logged"
    assert [m for m in upgrades if "\n" in m] == []
