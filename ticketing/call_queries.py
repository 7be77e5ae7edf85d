"""Reading stored calls: how many, the latest end, and the calls of a period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.call_rows import calls, record_from_row
from ticketing.surveys import SURVEY_KEY, survey_results


async def count_calls(connection: AsyncConnection) -> int:
    return int((await connection.execute(select(func.count()).select_from(calls))).scalar_one())


async def latest_call_end(connection: AsyncConnection, pbx: str | None = None) -> float | None:
    """Epoch seconds of the latest stored call end (of one PBX); None when none is stored."""
    query = select(func.max(calls.c.ended_at))
    if pbx is not None:
        query = query.where(calls.c.pbx == pbx)
    end = (await connection.execute(query)).scalar_one()
    return None if end is None else float(end.timestamp())


async def calls_between(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    queue: str | None = None,
    pbx: str | None = None,
) -> list[dict[str, Any]]:
    """Calls counted in [start, end) (of one queue, of one PBX), as CallRecord JSON dicts plus
    their ``survey`` answer."""
    # A correlated lookup, not an outer join: each call probes the unique linkedid index, so
    # the cost follows the span's calls. Joined, a month's calls made PostgreSQL hash the whole
    # survey table (every survey ever) — see bench/reports.py.
    survey = (
        select(survey_results.c.answer)
        .where(survey_results.c.linkedid == calls.c.linkedid)
        .scalar_subquery()
        .label(SURVEY_KEY)
    )
    query = select(calls, survey).where(calls.c.counted_at >= start, calls.c.counted_at < end)
    if queue is not None:
        query = query.where(calls.c.queue == queue)
    if pbx is not None:
        query = query.where(calls.c.pbx == pbx)
    query = query.order_by(calls.c.counted_at, calls.c.id)
    result = await connection.execute(query)
    return [
        {**record_from_row(row._mapping), SURVEY_KEY: row._mapping[SURVEY_KEY]} for row in result
    ]
