"""How far the rollups are built (``hotline rollup status``): built hours and days, the hours
waiting to be rebuilt (dirty) or built at all, and the KPI thresholds the rows were built with.
Read only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.reports import Thresholds
from ticketing.rollup.ledger import floor_hour, hours_of, state, thresholds_json
from ticketing.rollup.refresh import data_start
from ticketing.rollup.tables import rollup_built, rollup_dirty


@dataclass(frozen=True, slots=True)
class RollupStatus:
    hours: int  # built hours
    days: int  # rolled UTC days
    first: datetime | None  # first and last built hour
    last: datetime | None
    dirty: int  # hours before the current one written since they were built
    oldest_dirty: datetime | None
    unbuilt: int  # hours since the first call or case never built (and not dirty)
    thresholds: dict[str, Any] | None  # what the built rows assumed; None: nothing built yet
    current: bool  # the thresholds are the settings' (else the next pass forgets every hour)

    def to_json(self) -> dict[str, Any]:
        def when(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat()

        return {
            "hours": self.hours, "days": self.days, "first": when(self.first),
            "last": when(self.last), "dirty": self.dirty,
            "oldest_dirty": when(self.oldest_dirty), "unbuilt": self.unbuilt,
            "thresholds": self.thresholds, "thresholds_current": self.current,
        }  # fmt: skip


async def rollup_status(
    connection: AsyncConnection, thresholds: Thresholds, now: datetime
) -> RollupStatus:
    """The rollups' state before ``now``'s hour (the hour in progress is never built)."""
    before = floor_hour(now)
    hours = (
        select(func.count(), func.min(rollup_built.c.bucket), func.max(rollup_built.c.bucket))
        .where(rollup_built.c.span == "hour")
    )  # fmt: skip
    built, first, last = (await connection.execute(hours)).one()
    days = await connection.scalar(
        select(func.count()).where(rollup_built.c.span == "day")
    )  # fmt: skip
    dirty = [
        row.hour
        for row in await connection.execute(
            select(rollup_dirty.c.hour).where(rollup_dirty.c.hour < before)
        )
    ]
    start = await data_start(connection)
    unbuilt = 0
    if start is not None and start < before:
        done = set(
            (
                await connection.execute(
                    select(rollup_built.c.bucket).where(
                        rollup_built.c.span == "hour", rollup_built.c.bucket >= start,
                        rollup_built.c.bucket < before)
                )
            ).scalars()
        )  # fmt: skip
        waiting = done | set(dirty)
        unbuilt = sum(1 for h in hours_of(start, before) if h not in waiting)
    assumed = await state(connection, "thresholds")
    return RollupStatus(
        hours=int(built), days=int(days or 0), first=first, last=last, dirty=len(dirty),
        oldest_dirty=min(dirty, default=None), unbuilt=unbuilt, thresholds=assumed,
        current=assumed == thresholds_json(thresholds),
    )  # fmt: skip
