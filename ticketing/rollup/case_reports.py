"""The case report queries answered from rollup_cases where built and clean, raw elsewhere.

Each function has ticketing/reports.py's signature and result: the period is planned
(ledger.plan), the raw hours (edges, dirty or unbuilt hours) are read by the raw query in one
statement over their runs, the rolled days and hours are summed from rollup_cases
(ticketing/rollup/cases.py), and the two are added.

The drill-downs list cases by opening (created_at, id), so a list's first ``limit`` cases are
in its earliest hours. The chased figures' lists (case_event_ids, and case_ids' lists that are
one of them) read their rolled hours from rollup_case_marks in that order, their raw hours by
the raw query, run after run in time order until the list is full. For case_ids' other
lists the rollup's per-hour count of the figure (events, so at least the cases) says which
hours hold any (the others are skipped) and where the running count reaches ``limit`` (the
raw scan stops there). If the cases are fewer than their events, the next
hours are read the same way until the list is full: the result is the raw query's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing import reports
from ticketing.reports import DRILL_LIMIT, ReportFilter, _case_conditions
from ticketing.rollup import cases
from ticketing.rollup.ledger import DAY, HOUR, Plan, Run, in_runs, plan, plan_raw
from ticketing.rollup.tables import rollup_cases
from ticketing.tickets import tickets

_r = rollup_cases.c
_EVERY: Final = ReportFilter()
# case_counts' and case_event_counts' keys as rollup_cases columns (None: one total).
_COUNT_KEYS: Final = {"category": _r.category, "area": _r.area, "unit": _r.first_unit}
_EVENT_KEYS: Final = {"unit": _r.unit, "category": _r.category, "area": _r.area, "total": None}
# case_event_counts' and case_callback_counts' names as rollup_cases columns.
_EVENT_COLUMNS: Final = {name: name for name in reports.EVENT_COUNTS}
_CALLBACK_COLUMNS: Final = {"done": "done", "called_back": "called_back", "rated": "cb_rated",
                            "satisfied": "cb_satisfied", "process_rated": "cb_process_rated",
                            "process_satisfied": "cb_process_satisfied"}  # fmt: skip


async def _plan(
    connection: AsyncConnection, start: datetime, end: datetime, flt: ReportFilter
) -> Plan:
    if not cases.servable(flt):
        reports._need_aware(start, end)
        return plan_raw(start, end)
    return await plan(connection, start, end)


def _opened(runs: Sequence[Run], flt: ReportFilter) -> list[Any]:
    """The raw case queries' conditions: opened in one of ``runs``, matching ``flt``."""
    return [in_runs(tickets.c.created_at, runs), *_case_conditions(flt)]


def _add(total: dict[str, dict[str, int]], part: dict[str, dict[str, int]]) -> None:
    for key, counts in part.items():
        into = total.setdefault(key, dict.fromkeys(counts, 0))
        for name, value in counts.items():
            into[name] = into.get(name, 0) + value


async def case_counts(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    by: str,
    flt: ReportFilter = _EVERY,
) -> dict[str, int]:
    """ticketing.reports.case_counts."""
    column = _COUNT_KEYS[by]
    how = await _plan(connection, start, end, flt)
    out: dict[str, int] = {}
    if how.raw:
        out = await reports.case_counts_where(connection, _opened(how.raw, flt), by)
    summed = await cases.sums(connection, how, flt, column, ("cases",), cases.per_case())
    for key, counts in summed.items():
        out[key] = out.get(key, 0) + counts["cases"]
    return out


async def case_event_counts(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    by: str,
    flt: ReportFilter = _EVERY,
) -> dict[str, dict[str, int]]:
    """ticketing.reports.case_event_counts."""
    if by not in reports.CASE_KEYS:
        raise ValueError(f"by is one of {', '.join(reports.CASE_KEYS)}")
    how = await _plan(connection, start, end, flt)
    out: dict[str, dict[str, int]] = {}
    if how.raw:
        out = await reports.case_event_counts_where(connection, _opened(how.raw, flt), by)
    summed = await cases.sums(
        connection, how, flt, _EVENT_KEYS[by], _EVENT_COLUMNS.values(), cases.per_unit(None)
    )
    _add(out, {key: {name: counts[column] for name, column in _EVENT_COLUMNS.items()}
               for key, counts in summed.items()})  # fmt: skip
    return out


async def case_callback_counts(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    by: str,
    flt: ReportFilter = _EVERY,
) -> dict[str, dict[str, int]]:
    """ticketing.reports.case_callback_counts."""
    if by not in ("category", "area", "total"):
        raise ValueError("by is category, area or total")
    how = await _plan(connection, start, end, flt)
    out: dict[str, dict[str, int]] = {}
    if how.raw:
        out = await reports.case_callback_counts_where(connection, _opened(how.raw, flt), by)
    summed = await cases.sums(
        connection, how, flt, _EVENT_KEYS[by], _CALLBACK_COLUMNS.values(), cases.per_case()
    )
    _add(out, {key: {name: counts[column] for name, column in _CALLBACK_COLUMNS.items()}
               for key, counts in summed.items()})  # fmt: skip
    return out


# ---- drill-downs ------------------------------------------------------------------------------

# The raw list of the cases opened in some runs of hours: (runs, how many at most) -> ids.
Lister = Callable[[list[Run], int], Awaitable[list[int]]]


def _merged(runs: list[Run]) -> list[Run]:
    out: list[Run] = []
    for start, end in sorted(runs):
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


async def _first_cases(
    connection: AsyncConnection,
    how: Plan,
    flt: ReportFilter,
    figure: Any,
    rows: ColumnElement[bool],
    listed: Lister,
    limit: int,
) -> list[int]:
    """The first ``limit`` cases by opening the raw ``listed`` finds, reading only the raw
    runs and the rolled days and hours whose ``figure`` (summed over ``rows`` matching
    ``flt``) is above 0, and only as many of those as the running count needs."""
    # The period in time order: (start, end, span, count); span None = raw (count unknown).
    timeline: list[tuple[datetime, datetime, str | None, int]] = [
        (a, b, None, 0) for a, b in how.raw
    ]
    for rolled, step, runs in (("day", DAY, how.days), ("hour", HOUR, how.hours)):
        for bucket, count in await cases.buckets(connection, rolled, runs, flt, figure, rows):
            first = bucket.astimezone(UTC)
            timeline.append((first, first + step, rolled, count))
    pending = deque(sorted(timeline, key=lambda item: item[0]))
    found: list[int] = []
    batch: list[Run] = []
    counted = 0
    while pending and len(found) < limit:
        start, end, span, count = pending.popleft()
        wanted = limit - len(found)
        if span == "day" and counted + count >= wanted:
            # The list ends in this day (if its events are its cases): its hours say where.
            hours = await cases.buckets(connection, "hour", [(start, end)], flt, figure, rows)
            pending.extendleft(
                reversed([(h.astimezone(UTC), h.astimezone(UTC) + HOUR, "hour", n)
                          for h, n in hours])
            )  # fmt: skip
            continue
        batch.append((start, end))
        counted += count
        if counted >= wanted:
            found += await listed(_merged(batch), wanted)
            batch, counted = [], 0
    if batch and len(found) < limit:
        found += await listed(_merged(batch), limit - len(found))
    return found


async def _in_order(how: Plan, marked: Lister, listed: Lister, limit: int) -> list[int]:
    """The first ``limit`` cases by opening: the plan's runs in time order, each stretch of
    rolled hours read from the marks (``marked``), each of raw ones by ``listed``, until the
    list is full. The runs split the period by opening, so this is the raw query's list."""
    timeline = sorted([(a, b, False) for a, b in how.raw] + [(a, b, True) for a, b in how.hourly])
    stretches: list[tuple[bool, list[Run]]] = []
    for start, end, rolled in timeline:
        if stretches and stretches[-1][0] == rolled:
            stretches[-1][1].append((start, end))
        else:
            stretches.append((rolled, [(start, end)]))
    found: list[int] = []
    for rolled, runs in stretches:
        if len(found) >= limit:
            break
        found += await (marked if rolled else listed)(_merged(runs), limit - len(found))
    return found


async def case_event_ids(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    what: str,
    flt: ReportFilter = _EVERY,
    unit: str | None = None,
    limit: int = DRILL_LIMIT,
) -> list[int]:
    """ticketing.reports.case_event_ids."""
    if what not in reports.CASE_EVENT_KINDS:
        raise ValueError(f"what is one of {', '.join(reports.CASE_EVENT_KINDS)}")

    async def listed(runs: list[Run], wanted: int) -> list[int]:
        opened = _opened(runs, flt)
        return await reports.case_event_ids_where(connection, opened, what, unit, wanted)

    async def marked(runs: list[Run], wanted: int) -> list[int]:
        return await cases.marked(connection, what, runs, flt, unit, wanted)

    if unit == "":  # the marks key a dissatisfied case no unit held "": read raw
        reports._need_aware(start, end)
        how = plan_raw(start, end)
    else:
        how = await _plan(connection, start, end, flt)
    return await _in_order(how, marked, listed, limit)


# case_ids' figures and parts as rollup counts, and whether a unit's events count them.
_CASE_PARTS: Final[dict[tuple[str, str], tuple[Any, bool]]] = {
    ("cases", "numerator"): (_r.cases, False),
    ("cases", "denominator"): (_r.cases, False),
    ("callback_coverage", "numerator"): (_r.called_back, False),
    ("callback_coverage", "denominator"): (_r.done, False),
    ("callback_coverage", "shortfall"): (_r.done - _r.called_back, False),
    ("dispatched", "numerator"): (_r.dispatched, True),
    ("on_time_rate", "numerator"): (_r.on_time, True),
    ("on_time_rate", "denominator"): (_r.answered, True),
    ("on_time_rate", "shortfall"): (_r.answered - _r.on_time, True),
    ("extension_rate", "numerator"): (_r.extended, True),
    ("extension_rate", "denominator"): (_r.dispatched, True),
    ("redo_rate", "numerator"): (_r.redone, True),
    ("redo_rate", "denominator"): (_r.answered, True),
    ("return_rate", "numerator"): (_r.returned, True),
    ("return_rate", "denominator"): (_r.dispatched, True),
    ("satisfaction", "numerator"): (_r.cb_satisfied, False),
    ("satisfaction", "denominator"): (_r.cb_rated, False),
    ("satisfaction", "shortfall"): (_r.cb_rated - _r.cb_satisfied, False),
    ("process_satisfaction", "numerator"): (_r.cb_process_satisfied, False),
    ("process_satisfaction", "denominator"): (_r.cb_process_rated, False),
    ("process_satisfaction", "shortfall"): (
        _r.cb_process_rated - _r.cb_process_satisfied, False),
}  # fmt: skip


# case_ids' lists that are case_event_ids' (figure, part) -> the figure marked, and whether
# a holder's list is that figure's of the unit (else with a holder it is not a marked list).
_MARKED_PARTS: Final[dict[tuple[str, str], tuple[str, bool]]] = {
    ("on_time_rate", "shortfall"): ("overdue", True),
    ("extension_rate", "numerator"): ("extended", True),
    ("redo_rate", "numerator"): ("redone", True),
    ("return_rate", "numerator"): ("returned", True),
    # A unit's share of the hotline figure is [] (reports.case_ids_where): not the marks'.
    ("satisfaction", "shortfall"): ("dissatisfied", False),
}


async def case_ids(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    figure: str,
    part: str = "numerator",
    flt: ReportFilter = _EVERY,
    holder: str | None = None,
    limit: int = DRILL_LIMIT,
) -> list[int] | None:
    """ticketing.reports.case_ids."""
    bound = _CASE_PARTS.get((figure, part))
    if bound is None or (holder is not None and not bound[1]):
        # Not a list the rollups count (or a unit's share of a hotline figure: none or the
        # histories'): the raw query answers at once, without reading the period.
        return await reports.case_ids(connection, start, end, figure, part, flt, holder, limit)
    marked = _MARKED_PARTS.get((figure, part))
    if marked is not None and (holder is None or marked[1]):
        return await case_event_ids(connection, start, end, marked[0], flt, holder, limit)
    count, by_unit = bound

    async def listed(runs: list[Run], wanted: int) -> list[int]:
        opened = _opened(runs, flt)
        ids = await reports.case_ids_where(connection, opened, figure, part, holder, wanted)
        return ids or []  # a list this table bounds: never None

    rows = cases.per_unit(holder) if by_unit else cases.per_case()
    how = await _plan(connection, start, end, flt)
    return await _first_cases(connection, how, flt, count, rows, listed, limit)
