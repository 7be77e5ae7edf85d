"""Which parts of a report's period come from rollup days, rollup hours or raw rows.

A period ``[start, end)`` is cut at whole UTC hours: the partial hours at its edges are read
raw; a whole hour is read from the rollup when its rows are built (``rollup_built``) and no
write has touched it since (``rollup_dirty``); a whole UTC day of such hours whose day rows
are built is read as one day row per key (a month is ~30 rows per key instead of ~720). For
call figures two more things must hold: the rollup counted with the same thresholds, and the
exclusion windows it left out are still the ones stored (a window added since is marked dirty
by the next refresh; until then its hours are read raw).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.exclusions import kpi_exclusions
from ticketing.reports import Thresholds
from ticketing.rollup.tables import rollup_built, rollup_dirty, rollup_state

Run = tuple[datetime, datetime]
HOUR: Final = timedelta(hours=1)
DAY: Final = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Plan:
    raw: tuple[Run, ...] = ()  # read from raw rows: edges, dirty or unbuilt hours
    days: tuple[Run, ...] = ()  # whole UTC days read from span='day' rows
    hours: tuple[Run, ...] = ()  # whole hours read from span='hour' rows, outside ``days``
    _hourly: tuple[Run, ...] = field(default=(), repr=False)

    @property
    def hourly(self) -> tuple[Run, ...]:
        """Every rolled hour (the days' hours and the others), for readers that need hours."""
        return self._hourly

    @property
    def rolled(self) -> bool:
        return bool(self.days or self.hours)


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    floor = floor_hour(moment)
    return floor if floor == moment else floor + HOUR


def floor_day(moment: datetime) -> datetime:
    return floor_hour(moment).replace(hour=0)


def hours_of(start: datetime, end: datetime) -> list[datetime]:
    """The whole UTC hours starting in [start, end) (start and end on hours)."""
    out, hour = [], floor_hour(start)
    while hour < end:
        out.append(hour)
        hour += HOUR
    return out


def runs(moments: Iterable[datetime], step: timedelta) -> tuple[Run, ...]:
    """Sorted hour (or day) starts as [start, end) runs of consecutive ones."""
    out: list[list[datetime]] = []
    for moment in sorted(moments):
        if out and out[-1][1] == moment:
            out[-1][1] = moment + step
        else:
            out.append([moment, moment + step])
    return tuple((a, b) for a, b in out)


def in_runs(column: Any, spans: Sequence[Run]) -> ColumnElement[bool]:
    """``column`` falls in one of the runs (false for none)."""
    if not spans:
        return false()
    return or_(*(and_(column >= a, column < b) for a, b in spans))


def rolled(table: Any, plan: Plan) -> ColumnElement[bool]:
    """The rows of a fact table (span, bucket) a plan reads: its days' day rows and its other
    hours' hour rows."""
    return or_(
        and_(table.c.span == "day", in_runs(table.c.bucket, plan.days)),
        and_(table.c.span == "hour", in_runs(table.c.bucket, plan.hours)),
    )


def plan_raw(start: datetime, end: datetime) -> Plan:
    """Everything raw: a filter or thresholds the rollups cannot serve."""
    return Plan(raw=((start, end),) if start < end else ())


def thresholds_json(thresholds: Thresholds) -> dict[str, int]:
    return {"answer_threshold_s": thresholds.answer_threshold_s,
            "short_abandon_s": thresholds.short_abandon_s}  # fmt: skip


async def state(connection: AsyncConnection, name: str) -> Any:
    row = (
        await connection.execute(select(rollup_state.c.value).where(rollup_state.c.name == name))
    ).first()
    return None if row is None else row.value


def window_json(row: Any) -> list[Any]:
    starts, ends = row.starts_at.astimezone(UTC), row.ends_at.astimezone(UTC)
    return [int(row.id), starts.isoformat(), ends.isoformat()]


async def windows(connection: AsyncConnection) -> list[list[Any]]:
    """The stored exclusion windows as the rollup state records them (id, start, end)."""
    query = select(kpi_exclusions.c.id, kpi_exclusions.c.starts_at, kpi_exclusions.c.ends_at)
    rows = await connection.execute(query.order_by(kpi_exclusions.c.id))
    return [window_json(row) for row in rows]


def changed_hours(before: Sequence[Sequence[Any]], now: Sequence[Sequence[Any]]) -> set[datetime]:
    """The hours a window added, removed or moved since ``before`` overlaps."""
    old = {tuple(w) for w in before}
    new = {tuple(w) for w in now}
    out: set[datetime] = set()
    for _id, starts, ends in old ^ new:
        first, last = datetime.fromisoformat(starts), datetime.fromisoformat(ends)
        out.update(hours_of(floor_hour(first), ceil_hour(last)))
    return out


async def plan(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    thresholds: Thresholds | None = None,
) -> Plan:
    """How to read [start, end): ``thresholds`` are the call figures' (None for cases)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("give timezone-aware start and end")
    first, last = ceil_hour(start), floor_hour(end)
    if first >= last:
        return plan_raw(start, end)
    unusable: set[datetime] = set()
    if thresholds is not None:
        if await state(connection, "thresholds") != thresholds_json(thresholds):
            return plan_raw(start, end)
        unusable = changed_hours(await state(connection, "exclusions") or [],
                                 await windows(connection))  # fmt: skip
    built = await connection.execute(
        select(rollup_built.c.span, rollup_built.c.bucket).where(
            rollup_built.c.bucket >= floor_day(first), rollup_built.c.bucket < last
        )
    )
    hours: set[datetime] = set()
    days: set[datetime] = set()
    for row in built:
        (hours if row.span == "hour" else days).add(row.bucket.astimezone(UTC))
    dirty = await connection.execute(
        select(rollup_dirty.c.hour).where(rollup_dirty.c.hour >= first, rollup_dirty.c.hour < last)
    )
    unusable.update(row.hour.astimezone(UTC) for row in dirty)
    clean = {hour for hour in hours_of(first, last) if hour in hours and hour not in unusable}
    whole_days = {
        day for day in days
        if day >= first and day + DAY <= last
        and all(day + HOUR * i in clean for i in range(24))
    }  # fmt: skip
    in_days = {day + HOUR * i for day in whole_days for i in range(24)}
    raw = [(start, first)] if start < first else []
    raw += runs((h for h in hours_of(first, last) if h not in clean), HOUR)
    if last < end:
        raw.append((last, end))
    return Plan(
        raw=tuple(sorted(raw)),
        days=runs(whole_days, DAY),
        hours=runs(clean - in_days, HOUR),
        _hourly=runs(clean, HOUR),
    )
