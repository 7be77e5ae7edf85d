"""The CI's small version of bench/reports.py: 100,000 calls of a generated year in the real
PostgreSQL, and every report query's plan read through EXPLAIN — none may read a big table
by sequential scan (the plan is asserted, never a time: timing goals live in bench/)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from bench.report_data import Plan
from bench.report_queries import QUERIES, busy_span, measure
from bench.reports import prepare
from ticketing import reports as raw
from ticketing.reports import Thresholds
from ticketing.rollup import ledger, refresh
from ticketing.rollup import reports as served
from ticketing.store import TicketStore

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600)]

SMALL = Plan(calls=100_000, year=2025, seed=7)


@pytest.fixture
async def year_store(postgres_url: str) -> AsyncIterator[TicketStore]:
    counts = await prepare(postgres_url, SMALL, say=lambda _: None)
    assert counts["call_records"] >= SMALL.calls
    store = await TicketStore.open(postgres_url)
    yield store
    await store.close()


async def test_report_queries_on_a_generated_year_stay_on_their_indexes(
    year_store: TicketStore,
) -> None:
    # The generated year looks like a hotline's (else the plans would prove little).
    async with year_store.engine.connect() as connection:
        timely, first_legs, peak_hour, quiet_hour = (
            await connection.execute(
                text(
                    "SELECT avg((wait_s <= 15)::int) FILTER (WHERE outcome = 'answered'),"
                    " count(*) FILTER (WHERE leg = 0),"
                    " count(*) FILTER (WHERE extract(hour FROM counted_at AT TIME ZONE"
                    "   'Asia/Shanghai') = 10),"
                    " count(*) FILTER (WHERE extract(hour FROM counted_at AT TIME ZONE"
                    "   'Asia/Shanghai') = 3)"
                    " FROM call_records"
                )
            )
        ).one()
        found = await connection.execute(text("SELECT status, count(*) FROM tickets GROUP BY 1"))
        states: dict[str, int] = {status: count for status, count in found}
    assert first_legs == SMALL.calls
    assert 0.82 <= float(timely) <= 0.88  # ~85 % answered within 15 s
    assert peak_hour > 10 * quiet_hour  # the day's curve: 10:00 against 03:00
    # Cases walked the workflow: finished ones and, at the year's end, ones still open.
    for state in ("registered", "closed", "archived", "merged", "invalid", "in_progress"):
        assert states.get(state, 0) > 0, states
    # The case KPIs read the generated histories as the product's own events.
    figures = await year_store.case_kpis(
        dt.datetime(2025, 6, 1, tzinfo=dt.UTC), dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
    )
    on_time = [u["on_time_rate"]["value"] for u in figures["units"].values()]
    assert on_time and all(0.7 < v < 1 for v in on_time if v is not None)
    assert 0.8 < figures["satisfaction"]["value"] < 0.95

    # The CI's check of bench/reports.py: every report query's plan stays on its indexes.
    span = await busy_span(year_store.engine, (SMALL.year, 11))
    for query in QUERIES:
        measured = await measure(year_store, span, query, repeats=0, analyze=False)
        assert measured.statements, f"{query.name}: no SQL captured"
        for statement in measured.statements:
            assert statement.seq_scans() == [], (
                f"{query.name} reads {statement.seq_scans()} whole: {statement.summary()}"
            )
    # The same year again, its November rolled up (one year generated: 26 s of CI time).
    await _rolled_up_month_equals_raw_and_stays_off_the_big_tables(year_store)


async def _rolled_up_month_equals_raw_and_stays_off_the_big_tables(
    year_store: TicketStore,
) -> None:
    """With November's rollups built (what `hotline rollup build` does), the report queries
    answer what the raw queries answer on the generated year, reading no big table whole."""
    limits = Thresholds()
    await refresh.build_all(
        year_store.engine, limits, dt.datetime(2025, 10, 30, tzinfo=dt.UTC),
        dt.datetime(2025, 12, 2, tzinfo=dt.UTC),
    )  # fmt: skip
    span = await busy_span(year_store.engine, (SMALL.year, 11))
    month = (span.month, span.month_end)
    async with year_store.engine.connect() as connection:
        plan = await ledger.plan(connection, *month, limits)
        assert plan.days and not plan.raw  # November is read from day rows
        checks = {
            "call_hours": lambda q: q.call_hours(connection, *month),
            "call_groups area": lambda q: q.call_groups(connection, *month, "area"),
            "queue_legs": lambda q: q.queue_legs(connection, *month),
            "agent_legs": lambda q: q.agent_legs(connection, *month),
            "case_event_counts unit": lambda q: q.case_event_counts(connection, *month, "unit"),
            "case_callback_counts total": lambda q: q.case_callback_counts(
                connection, *month, "total"
            ),
            "case_counts area": lambda q: q.case_counts(connection, *month, "area"),
            "call_keys abandoned": lambda q: q.call_keys(connection, *month, "abandoned"),
            "case_event_ids overdue": lambda q: q.case_event_ids(connection, *month, "overdue"),
        }
        for name, ask in checks.items():
            assert await ask(served) == await ask(raw), name
    for query in QUERIES:
        measured = await measure(year_store, span, query, repeats=0, analyze=False)
        for statement in measured.statements:
            assert statement.seq_scans() == [], (
                f"{query.name} reads {statement.seq_scans()} whole: {statement.summary()}"
            )
