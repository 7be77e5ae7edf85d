"""Where a report's period is read from (ticketing/rollup/ledger.py) and how hours and days
are built and forgotten (refresh.py), on SQLite and a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from tests.ticketing.conftest import make_record
from ticketing.reports import Thresholds
from ticketing.rollup import ledger, refresh
from ticketing.rollup.tables import rollup_built, rollup_calls, rollup_dirty
from ticketing.store import TicketStore

DAY0 = datetime(2026, 11, 23, tzinfo=UTC)
H = timedelta(hours=1)
LIMITS = Thresholds()


async def _built(store: TicketStore, start: datetime, end: datetime) -> None:
    async with store.engine.begin() as connection:
        await refresh.rebuild(connection, start, end, LIMITS)
        await refresh.roll_days(connection, start, end)


async def test_nothing_built_reads_everything_raw(store: TicketStore) -> None:
    start, end = DAY0 + timedelta(minutes=30), DAY0 + timedelta(days=2)
    async with store.engine.connect() as connection:
        plan = await ledger.plan(connection, start, end, LIMITS)
    assert plan.raw == ((start, end),) and not plan.rolled


async def test_built_days_hours_and_edges(store: TicketStore) -> None:
    async with store.engine.begin() as connection:
        await refresh._notice_changes(connection, LIMITS)
    await _built(store, DAY0, DAY0 + timedelta(days=1, hours=5))
    start, end = DAY0 - timedelta(minutes=20), DAY0 + timedelta(days=1, hours=7, minutes=10)
    async with store.engine.connect() as connection:
        plan = await ledger.plan(connection, start, end, LIMITS)
        cases = await ledger.plan(connection, start, end)
    assert plan.days == ((DAY0, DAY0 + timedelta(days=1)),)
    assert plan.hours == ((DAY0 + timedelta(days=1), DAY0 + timedelta(days=1, hours=5)),)
    assert plan.raw == (
        (start, DAY0),
        (DAY0 + timedelta(days=1, hours=5), DAY0 + timedelta(days=1, hours=7)),
        (DAY0 + timedelta(days=1, hours=7), end),
    )
    assert plan.hourly == ((DAY0, DAY0 + timedelta(days=1, hours=5)),)
    assert cases == plan


async def test_a_write_makes_its_hour_raw_until_rebuilt(store: TicketStore) -> None:
    async with store.engine.begin() as connection:
        await refresh._notice_changes(connection, LIMITS)
    await _built(store, DAY0, DAY0 + timedelta(days=1))
    # A call at 05:30 UTC: the trigger marks 05:00, the day can no longer be read whole.
    await store.save_calls([make_record(queue_entered_at=(DAY0 + 5.5 * H).timestamp())])
    async with store.engine.connect() as connection:
        plan = await ledger.plan(connection, DAY0, DAY0 + timedelta(days=1), LIMITS)
    assert plan.days == ()
    assert plan.raw == ((DAY0 + 5 * H, DAY0 + 6 * H),)
    assert plan.hours == ((DAY0, DAY0 + 5 * H), (DAY0 + 6 * H, DAY0 + timedelta(days=1)))
    done = await refresh.refresh(store.engine, LIMITS, now=DAY0 + timedelta(days=3))
    assert done.hours >= 1 and done.days >= 1
    async with store.engine.connect() as connection:
        plan = await ledger.plan(connection, DAY0, DAY0 + timedelta(days=1), LIMITS)
        dirty = (await connection.execute(select(rollup_dirty.c.hour))).all()
    assert plan.days == ((DAY0, DAY0 + timedelta(days=1)),) and plan.raw == ()
    assert dirty == []


async def test_other_thresholds_read_calls_raw(store: TicketStore) -> None:
    await refresh.build_all(store.engine, LIMITS, DAY0, DAY0 + timedelta(days=1))
    async with store.engine.connect() as connection:
        same = await ledger.plan(connection, DAY0, DAY0 + timedelta(days=1), LIMITS)
        other = await ledger.plan(connection, DAY0, DAY0 + timedelta(days=1), Thresholds(20, 5))
    assert same.days and not same.raw
    assert other == ledger.plan_raw(DAY0, DAY0 + timedelta(days=1))
    # Refreshing with the new thresholds forgets every built hour.
    await refresh.refresh(store.engine, Thresholds(20, 5), now=DAY0, budget_hours=0)
    async with store.engine.connect() as connection:
        plan = await ledger.plan(connection, DAY0, DAY0 + timedelta(days=1), Thresholds(20, 5))
    assert not plan.rolled


async def test_a_new_exclusion_window_reads_its_hours_raw_then_dirty(store: TicketStore) -> None:
    await refresh.build_all(store.engine, LIMITS, DAY0, DAY0 + timedelta(days=1))
    await store.add_exclusion(DAY0 + 3.5 * H, DAY0 + 4.25 * H, "停电", "boss")
    async with store.engine.connect() as connection:
        calls = await ledger.plan(connection, DAY0, DAY0 + timedelta(days=1), LIMITS)
        cases = await ledger.plan(connection, DAY0, DAY0 + timedelta(days=1))
    assert calls.raw == ((DAY0 + 3 * H, DAY0 + 5 * H),)
    assert cases.days  # case counts do not depend on exclusion windows
    await refresh.refresh(store.engine, LIMITS, now=DAY0, budget_hours=0)
    async with store.engine.connect() as connection:
        dirty = {r.hour.astimezone(UTC) for r in await connection.execute(select(rollup_dirty))}
    assert dirty == {DAY0 + 3 * H, DAY0 + 4 * H}


async def test_a_day_row_sums_its_hours(store: TicketStore) -> None:
    async with store.engine.begin() as connection:
        await refresh.rebuild(connection, DAY0, DAY0 + timedelta(days=1), LIMITS)
        rows = [
            {"span": "hour", "bucket": DAY0 + i * H, "queue": "", "category": "help",
             "area": "", "first_unit": "", "handling_unit": "", "calls": 2, "offered": 1,
             "longest_wait": 10 + i}
            for i in (3, 9)
        ]  # fmt: skip
        await connection.execute(insert(rollup_calls), rows)
        assert await refresh.roll_days(connection, DAY0, DAY0 + H) == 1
        day = (
            await connection.execute(select(rollup_calls).where(rollup_calls.c.span == "day"))
        ).one()
        built = await connection.scalar(
            select(rollup_built.c.bucket).where(rollup_built.c.span == "day")
        )
    assert (day.calls, day.offered, day.longest_wait, day.answered) == (4, 2, 19, 0)
    assert built is not None and built.astimezone(UTC) == DAY0
