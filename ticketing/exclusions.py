"""KPI exclusion windows: periods whose calls the call KPIs leave out (e.g. a known outage)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.models import KpiExclusionRow
from ticketing.times import require_aware

kpi_exclusions = cast(Table, KpiExclusionRow.__table__)


def check_window(start: datetime, end: datetime, reason: str) -> None:
    require_aware(start, "start")
    require_aware(end, "end")
    if end <= start:
        raise ValueError(f"exclusion window ends ({end}) before it starts ({start})")
    if not reason.strip():
        raise ValueError("an exclusion window needs a reason")


async def insert_exclusion(
    connection: AsyncConnection, start: datetime, end: datetime, reason: str, created_by: str
) -> int:
    """Store a window checked with check_window; returns its id."""
    result = await connection.execute(
        kpi_exclusions.insert()
        .values(
            starts_at=start,
            ends_at=end,
            reason=reason,
            created_by=created_by,
            created_at=datetime.now(UTC),
        )
        .returning(kpi_exclusions.c.id)
    )
    return int(result.scalar_one())


async def exclusions_between(
    connection: AsyncConnection, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, str]]:
    """Exclusion windows overlapping [start, end), by start time."""
    query = (
        select(kpi_exclusions.c.starts_at, kpi_exclusions.c.ends_at, kpi_exclusions.c.reason)
        .where(kpi_exclusions.c.starts_at < end, kpi_exclusions.c.ends_at > start)
        .order_by(kpi_exclusions.c.starts_at, kpi_exclusions.c.id)
    )
    result = await connection.execute(query)
    return [(row.starts_at, row.ends_at, row.reason) for row in result]


def _window_view(row: Any) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "start": row.starts_at,
        "end": row.ends_at,
        "reason": row.reason,
        "created_by": row.created_by,
    }


async def listed_exclusions(
    connection: AsyncConnection, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The windows overlapping [start, end) with their ids and authors, by start time."""
    query = (
        select(kpi_exclusions)
        .where(kpi_exclusions.c.starts_at < end, kpi_exclusions.c.ends_at > start)
        .order_by(kpi_exclusions.c.starts_at, kpi_exclusions.c.id)
    )
    return [_window_view(row) for row in await connection.execute(query)]


async def delete_exclusion(connection: AsyncConnection, window_id: int) -> dict[str, Any] | None:
    """Remove a window; what it was, or None when there is no such window."""
    found = (
        await connection.execute(select(kpi_exclusions).where(kpi_exclusions.c.id == window_id))
    ).one_or_none()
    if found is None:
        return None
    await connection.execute(delete(kpi_exclusions).where(kpi_exclusions.c.id == window_id))
    return _window_view(found)
