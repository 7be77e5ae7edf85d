"""Building rollup rows: rebuild hours, roll complete days, and one refresh pass.

A refresh pass, in order: notices changed KPI thresholds (every built hour is forgotten: the
call counts depend on them) and changed exclusion windows (their hours are marked dirty);
rebuilds the dirty hours before the current one, newest first; then builds the hours never
built, from the newest down to the oldest data. Each run of hours is rebuilt in its own
transaction, which also rolls the UTC days it completes, so a failure loses no mark: the
dirty rows of a run are deleted in the transaction that rebuilds it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.call_rows import calls as call_records
from ticketing.models import UTCDateTime
from ticketing.reports import Thresholds
from ticketing.rollup import calls, cases
from ticketing.rollup.ledger import (
    DAY,
    HOUR,
    changed_hours,
    floor_day,
    floor_hour,
    hours_of,
    runs,
    state,
    thresholds_json,
    windows,
)
from ticketing.rollup.tables import (
    FACT_TABLES,
    MARK_TABLES,
    rollup_built,
    rollup_call_hour_keys,
    rollup_call_hours,
    rollup_dirty,
    rollup_state,
)
from ticketing.tickets import tickets


@dataclass(frozen=True, slots=True)
class Refreshed:
    hours: int  # hours rebuilt
    days: int  # UTC days rolled
    left: int  # dirty or never-built hours still waiting


async def _set_state(connection: AsyncConnection, name: str, value: Any) -> None:
    await connection.execute(delete(rollup_state).where(rollup_state.c.name == name))
    await connection.execute(insert(rollup_state).values(name=name, value=value))


async def rebuild(
    connection: AsyncConnection, start: datetime, end: datetime, thresholds: Thresholds
) -> None:
    """Rebuild the hour rows of the whole hours in [start, end) and record them built."""
    hours = hours_of(start, end)
    if not hours:
        return
    start, end = hours[0], hours[-1] + HOUR
    if connection.dialect.name == "postgresql":
        # The build statements are planned as expensive (correlated lookups per event), so
        # PostgreSQL JIT-compiles them each time: twice the time of a month's build.
        await connection.exec_driver_sql("SET LOCAL jit = off")
    for table in FACT_TABLES:
        await connection.execute(
            delete(table).where(table.c.span == "hour", table.c.bucket >= start,
                                table.c.bucket < end)
        )  # fmt: skip
    for hourly in (rollup_call_hours, rollup_call_hour_keys, *MARK_TABLES):
        await connection.execute(delete(hourly).where(hourly.c.hour >= start, hourly.c.hour < end))
    await calls.build(connection, start, end, thresholds)
    await cases.build(connection, start, end)
    await connection.execute(
        delete(rollup_dirty).where(rollup_dirty.c.hour >= start, rollup_dirty.c.hour < end)
    )
    await connection.execute(
        delete(rollup_built).where(rollup_built.c.span == "hour", rollup_built.c.bucket >= start,
                                   rollup_built.c.bucket < end)
    )  # fmt: skip
    now = datetime.now(UTC)
    await connection.execute(
        insert(rollup_built), [{"span": "hour", "bucket": h, "built_at": now} for h in hours]
    )


def _day_rows(table: Any, day: datetime) -> Any:
    """INSERT … SELECT of a day's rows of a fact table from its 24 hour rows."""
    keys = [c for c in table.primary_key.columns if c.name not in ("span", "bucket")]
    sums = [c for c in table.columns if not c.primary_key]
    values = [
        func.max(c).label(c.name) if c.name == "longest_wait" else func.sum(c).label(c.name)
        for c in sums
    ]
    source = (
        select(literal("day").label("span"), literal(day, UTCDateTime).label("bucket"), *keys,
               *values)
        .where(table.c.span == "hour", table.c.bucket >= day, table.c.bucket < day + DAY)
        .group_by(*keys)
    )  # fmt: skip
    names = ["span", "bucket", *(c.name for c in keys), *(c.name for c in sums)]
    return insert(table).from_select(names, source)


async def roll_days(connection: AsyncConnection, start: datetime, end: datetime) -> int:
    """Roll the day rows of the UTC days touching [start, end) whose 24 hours are built and
    clean; a day that is not is forgotten (its hours are read instead). Returns days rolled."""
    rolled = 0
    day = floor_day(start)
    while day < end:
        built = await connection.scalar(
            select(func.count()).select_from(rollup_built).where(
                rollup_built.c.span == "hour", rollup_built.c.bucket >= day,
                rollup_built.c.bucket < day + DAY)
        )  # fmt: skip
        dirty = await connection.scalar(
            select(func.count()).select_from(rollup_dirty).where(
                rollup_dirty.c.hour >= day, rollup_dirty.c.hour < day + DAY)
        )  # fmt: skip
        await connection.execute(
            delete(rollup_built).where(rollup_built.c.span == "day", rollup_built.c.bucket == day)
        )
        for table in FACT_TABLES:
            await connection.execute(
                delete(table).where(table.c.span == "day", table.c.bucket == day)
            )
        if built == 24 and not dirty:
            for table in FACT_TABLES:
                await connection.execute(_day_rows(table, day))
            await connection.execute(
                insert(rollup_built).values(span="day", bucket=day, built_at=datetime.now(UTC))
            )
            rolled += 1
        day += DAY
    return rolled


async def _notice_changes(connection: AsyncConnection, thresholds: Thresholds) -> None:
    """Forget every built hour if the thresholds changed; mark the hours of changed
    exclusion windows dirty."""
    wanted = thresholds_json(thresholds)
    if await state(connection, "thresholds") != wanted:
        await connection.execute(delete(rollup_built))
        await _set_state(connection, "thresholds", wanted)
    before = await state(connection, "exclusions")
    now = await windows(connection)
    if before != now:
        await mark_dirty(connection, changed_hours(before or [], now))
        await _set_state(connection, "exclusions", now)


async def mark_dirty(connection: AsyncConnection, hours: set[datetime]) -> None:
    if not hours:
        return
    present = await connection.execute(
        select(rollup_dirty.c.hour).where(rollup_dirty.c.hour.in_(sorted(hours)))
    )
    hours = hours - {row.hour.astimezone(UTC) for row in present}
    if hours:
        await connection.execute(insert(rollup_dirty), [{"hour": h} for h in sorted(hours)])


async def data_start(connection: AsyncConnection) -> datetime | None:
    """The first hour holding a call or a case."""
    firsts = [
        await connection.scalar(select(func.min(call_records.c.counted_at))),
        await connection.scalar(select(func.min(tickets.c.created_at))),
    ]
    present = [f if isinstance(f, datetime) else None for f in firsts]
    moments = [m for m in present if m is not None]
    return floor_hour(min(moments)) if moments else None


async def _waiting(connection: AsyncConnection, before: datetime) -> tuple[list[datetime], int]:
    """The hours to rebuild before ``before``, most urgent first: dirty ones newest first, then
    the never-built ones newest first; and how many there are in all."""
    dirty = [
        row.hour.astimezone(UTC)
        for row in await connection.execute(
            select(rollup_dirty.c.hour)
            .where(rollup_dirty.c.hour < before)
            .order_by(rollup_dirty.c.hour.desc())
        )
    ]
    first = await data_start(connection)
    unbuilt: list[datetime] = []
    if first is not None and first < before:
        built = {
            row.bucket.astimezone(UTC)
            for row in await connection.execute(
                select(rollup_built.c.bucket).where(
                    rollup_built.c.span == "hour", rollup_built.c.bucket >= first,
                    rollup_built.c.bucket < before)
            )
        }  # fmt: skip
        seen = set(dirty)
        unbuilt = [h for h in reversed(hours_of(first, before)) if h not in built | seen]
    return dirty + unbuilt, len(dirty) + len(unbuilt)


async def refresh(
    engine: AsyncEngine, thresholds: Thresholds, *, now: datetime, budget_hours: int = 48
) -> Refreshed:
    """One pass (the service runs it every rollup_interval_s on its active instance)."""
    async with engine.begin() as connection:
        await _notice_changes(connection, thresholds)
        waiting, total = await _waiting(connection, floor_hour(now))
    chosen = waiting[:budget_hours]
    days = 0
    for start, end in runs(chosen, HOUR):
        async with engine.begin() as connection:
            await rebuild(connection, start, end, thresholds)
            days += await roll_days(connection, start, end)
    return Refreshed(hours=len(chosen), days=days, left=total - len(chosen))


async def build_all(
    engine: AsyncEngine,
    thresholds: Thresholds,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    jobs: int = 1,
) -> Refreshed:
    """Build every hour of [start, end) (default: from the first data to the current hour),
    a UTC day per transaction, ``jobs`` days at once; ``progress(done, total)`` hears each
    day. (Days never share a row, so concurrent days do not conflict.)"""
    async with engine.begin() as connection:
        await _notice_changes(connection, thresholds)
        first = await data_start(connection) if start is None else floor_hour(start)
    last = floor_hour(end if end is not None else datetime.now(UTC))
    if first is None or first >= last:
        return Refreshed(hours=0, days=0, left=0)
    chunks: list[tuple[datetime, datetime]] = []
    day = floor_day(first)
    while day < last:
        chunks.append((max(day, first), min(day + DAY, last)))
        day += DAY
    done = days = 0
    pending = iter(chunks)

    async def worker() -> None:
        nonlocal done, days
        for a, b in pending:
            async with engine.begin() as connection:
                await rebuild(connection, a, b, thresholds)
                rolled = await roll_days(connection, a, b)
            days += rolled  # after the await: concurrent workers add to it too
            done += 1
            if progress is not None:
                progress(done, len(chunks))

    await asyncio.gather(*(worker() for _ in range(max(1, jobs))))
    hours = sum(len(hours_of(a, b)) for a, b in chunks)
    return Refreshed(hours=hours, days=days, left=0)
