"""The call report queries of ticketing/reports.py (same names, signatures and rows), answered
from the call rollups where ledger.plan finds them built and clean, and from raw rows for the
rest: the raw query over ``plan.raw`` plus the rollup reader over the rolled days and hours,
merged (counts and sums add; ``longest_wait`` is the larger).

That is exact because the raw call queries are additive over periods (a call belongs to the
period of its first leg in scope, ticketing.reports.call_legs) and the rollup hours are those
same queries run over each hour. A filter the rollups do not key (an agent; a case filter
on agent_legs) is read raw.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing import reports
from ticketing.reports import DRILL_LIMIT, ReportFilter, Thresholds
from ticketing.rollup import calls as rolled
from ticketing.rollup import ledger
from ticketing.rollup.ledger import HOUR, Plan, Run

# A drill-down's raw scan is one statement over this many runs at most (hours without a
# call of the figure between two runs are read too when there are more: harmless, as they
# add no row).
MAX_SCAN_RUNS: Final = 24
# The raw functions' defaults (a module-level value: ruff B008).
EVERYTHING: Final = ReportFilter()
DEFAULT_THRESHOLDS: Final = Thresholds()


async def _plan(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    flt: ReportFilter,
    thresholds: Thresholds,
    rollable: bool = True,
) -> Plan:
    # A queue named "" is the rollups' key of all queues: that filter is read raw.
    if not rollable or flt.agent is not None or flt.queue == "":
        return ledger.plan_raw(start, end)
    return await ledger.plan(connection, start, end, thresholds)


def _merged(key: str, *parts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the same ``key`` summed (``longest_wait``: the larger), ordered by key."""
    out: dict[Any, dict[str, Any]] = {}
    for rows in parts:
        for row in rows:
            into = out.get(row[key])
            if into is None:
                out[row[key]] = dict(row)
                continue
            for name, value in row.items():
                if name == key:
                    continue
                if name == "longest_wait":
                    waits = [w for w in (into[name], value) if w is not None]
                    into[name] = max(waits) if waits else None
                else:
                    into[name] += value
    return [out[k] for k in sorted(out)]


def _keyed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        row["key"] = row["key"] or ""
    return rows


async def call_hours(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    flt: ReportFilter = EVERYTHING,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[dict[str, Any]]:
    """reports.call_hours."""
    plan = await _plan(connection, start, end, flt, thresholds)
    raw = await reports.call_hours_in(connection, plan.raw, flt, thresholds) if plan.raw else []
    if not plan.rolled:
        return raw
    return _merged("hour", raw, await rolled.call_hours(connection, plan, flt))


async def call_groups(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    by: str,
    flt: ReportFilter = EVERYTHING,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[dict[str, Any]]:
    """reports.call_groups."""
    if by not in reports.CALL_GROUPS:
        raise KeyError(by)
    plan = await _plan(connection, start, end, flt, thresholds)
    raw = (
        await reports.call_groups_in(connection, plan.raw, by, flt, thresholds) if plan.raw else []
    )
    if not plan.rolled:
        return raw
    return _merged("key", raw, _keyed(await rolled.call_groups(connection, plan, by, flt)))


async def queue_legs(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    flt: ReportFilter = EVERYTHING,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[dict[str, Any]]:
    """reports.queue_legs."""
    plan = await _plan(connection, start, end, flt, thresholds)
    raw = await reports.queue_legs_in(connection, plan.raw, flt, thresholds) if plan.raw else []
    if not plan.rolled:
        return raw
    return _merged("key", raw, await rolled.queue_legs(connection, plan, flt))


async def agent_legs(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    flt: ReportFilter = EVERYTHING,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[dict[str, Any]]:
    """reports.agent_legs (a case filter is read raw: agent rows have no case keys)."""
    plan = await _plan(connection, start, end, flt, thresholds, rollable=not flt.on_cases)
    raw = await reports.agent_legs_in(connection, plan.raw, flt, thresholds) if plan.raw else []
    if not plan.rolled:
        return raw
    return _merged("key", raw, await rolled.agent_legs(connection, plan, flt))


def _scan_runs(plan: Plan, counts: dict[datetime, int], limit: int) -> list[Run]:
    """The runs a drill-down must read to list its first ``limit`` calls, oldest first: every
    raw run (its count is unknown) and every rolled hour holding a call of the figure, up to
    the hour where the rolled counts alone reach ``limit`` (the list is ordered by arrival,
    so no later call can be among the first ``limit``)."""
    pieces: list[tuple[Run, int | None]] = [(run, None) for run in plan.raw]
    for first, last in plan.hourly:
        hour = first
        while hour < last:
            pieces.append(((hour, hour + HOUR), counts.get(hour, 0)))
            hour += HOUR
    chosen: list[Run] = []
    seen = 0
    for run, count in sorted(pieces, key=lambda piece: piece[0]):
        if count == 0:
            continue
        if chosen and chosen[-1][1] == run[0]:
            chosen[-1] = (chosen[-1][0], run[1])
        else:
            chosen.append(run)
        seen += count or 0
        if seen >= limit:
            break
    return _fewer(chosen, MAX_SCAN_RUNS)


def _fewer(runs: Sequence[Run], most: int) -> list[Run]:
    """``runs`` merged across their shortest gaps until at most ``most`` remain."""
    out = list(runs)
    while len(out) > most:
        i = min(range(len(out) - 1), key=lambda j: out[j + 1][0] - out[j][1])
        out[i : i + 2] = [(out[i][0], out[i + 1][1])]
    return out


async def call_keys(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    figure: str,
    flt: ReportFilter = EVERYTHING,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    limit: int = DRILL_LIMIT,
) -> list[dict[str, Any]]:
    """reports.call_keys, reading raw only the hours that hold the first ``limit`` calls of
    the figure (the rollups count them per hour); ``excluded`` reads the exclusion windows'
    spans (reports.call_keys)."""
    if figure not in rolled.FIGURE_COUNTS or flt.agent is not None:
        return await reports.call_keys(connection, start, end, figure, flt, thresholds, limit)
    plan = await _plan(connection, start, end, flt, thresholds)
    if figure in rolled.MARKED_FIGURES and plan.hourly:
        return await _marked_keys(connection, plan, figure, flt, thresholds, limit)
    counts = await rolled.figure_hours(connection, plan, figure, flt)
    runs = _scan_runs(plan, counts, limit)
    if not runs:
        return []
    return await reports.call_keys_in(connection, runs, figure, flt, thresholds, limit)


async def _marked_keys(
    connection: AsyncConnection,
    plan: Plan,
    figure: str,
    flt: ReportFilter,
    thresholds: Thresholds,
    limit: int,
) -> list[dict[str, Any]]:
    """call_keys of a marked figure: the rolled hours' first ``limit`` marks and the raw
    runs' first ``limit`` calls, merged in the raw order (arrival, PBX, uniqueid)."""
    marked = await rolled.marked_calls(connection, plan, figure, flt, limit)
    runs: Sequence[Run] = plan.raw
    if len(marked) == limit:
        # No raw call after the last mark listed can be among the first ``limit``.
        last = datetime.fromisoformat(marked[-1]["at"])
        runs = [run for run in runs if run[0] <= last]
    # Merging runs across a gap reads rolled hours raw too: their calls, listed twice, are
    # the same rows and are dropped below.
    runs = _fewer(runs, MAX_SCAN_RUNS)
    raw = (
        await reports.call_keys_in(connection, runs, figure, flt, thresholds, limit) if runs else []
    )
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, Any]] = []
    for row in sorted([*raw, *marked], key=_arrival):
        key = (row["pbx"], row["uniqueid"])
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out[:limit]


def _arrival(row: dict[str, Any]) -> tuple[datetime, str, str]:
    return datetime.fromisoformat(row["at"]), row["pbx"], row["uniqueid"]


excluded_calls = reports.excluded_calls
