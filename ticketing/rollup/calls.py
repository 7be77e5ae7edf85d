"""The call rollups: built from ticketing/reports.py's own call SQL grouped finer, and read.

``build`` writes, for every UTC hour of [start, end), one INSERT … SELECT per table:

- ``rollup_calls``: the calls (``reports.call_legs`` / ``call_rows``: a call belongs to the
  hour of its first leg and brings all its legs) per hour × queue × the case keys of the case
  the call opened (``tickets.linkedid``; ``""`` without one). Queue ``""`` is the call over
  all its legs; a queue's name is the call over that queue's legs only, in the hour of its
  first leg in that queue, as a report filtered on the queue counts it. Both come from one
  pass over the calls' legs grouped per queue (a call's aggregates are sums, mins and maxes,
  so its per-queue rows combine into its whole row).
- ``rollup_call_hours``: the same per hour × queue, summed from the rows just written.
- ``rollup_legs``: the queue legs (``reports.legs_by``) per leg hour × queue × case keys.
- ``rollup_agent_legs``: the answered legs per leg hour × queue × PBX, member interface and
  member name; the reader names the agent through the small ``agents`` table, as the raw
  query does, so a later user binding renames history.

Exclusion windows are left out exactly as the raw queries leave them out (a call by its
arrival, a leg by its own counted_at); ticketing.rollup.ledger stops reading the hours of a
window added or moved since.

The readers sum those rows over a ledger Plan's rolled runs (day rows over ``plan.days``,
hour rows over ``plan.hours``; hour rows over ``plan.hourly`` for per-hour output) with the
report filter as a WHERE, in the raw queries' row shapes (ticketing/rollup/call_reports.py
adds the raw parts).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    Select,
    Table,
    and_,
    case,
    func,
    insert,
    literal,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.call_rows import calls
from ticketing.qa import _agents as agent_table
from ticketing.qa import _users as user_table
from ticketing.reports import (
    _CODE_OUTCOME,
    ANSWERED_OUTCOMES,
    CALL_FIGURES,
    CALL_PARTS,
    ReportFilter,
    Thresholds,
    _aware,
    _call_aggregates,
    _call_figure,
    _in_window,
    _numbers,
    call_legs,
    call_rows,
    legs_by,
)
from ticketing.rollup.ledger import Plan, in_runs, rolled
from ticketing.rollup.tables import (
    CALL_COUNTS,
    LEG_COUNTS,
    case_filter,
    hour_bucket,
    rollup_agent_legs,
    rollup_call_hour_keys,
    rollup_call_hours,
    rollup_call_marks,
    rollup_calls,
    rollup_legs,
)
from ticketing.tickets import tickets

# The case keys of a call or leg, from the case its linkedid opened ("" without one).
_CASE_KEYS: Final = {
    "category": tickets.c.category,
    "area": tickets.c.district,
    "first_unit": tickets.c.first_unit,
    "handling_unit": tickets.c.handling_unit,
}
# The call figures whose calls are kept one row each in rollup_call_marks: those a month holds
# too few of for the first 5,000 to sit in a few hours (bench/report_data.py, of all calls:
# IVR hang-ups 7 %, abandoned 6.5 %, no survey answer 4.7 %, dissatisfied 3.8 %, time-outs
# 0.9 %, rejections 0.5 % …). The frequent ones (calls, offered, answered, answered_within,
# satisfied ~42 %, rated, content) find their first 5,000 in a few hours of the bounded scan
# (call_reports._scan_runs) and would double the marks' rows.
MARKED_FIGURES: Final = (
    "answered_late", "abandoned", "short_abandons", "timeouts", "join_rejections",
    "ivr_hangups", "basically_satisfied", "dissatisfied", "survey_none", "deflected",
)  # fmt: skip
# call_groups' ``by`` → the rollup_calls key column.
GROUP_COLUMNS: Final = {"category": "category", "area": "area", "unit": "first_unit"}
# The call figures a drill-down lists, as sums of rollup count columns (sign, column).
FIGURE_COUNTS: Final[dict[str, tuple[tuple[int, str], ...]]] = {
    **{name: ((1, name),) for name in CALL_COUNTS if name in CALL_FIGURES},
    "answered_late": ((1, "answered"), (-1, "answered_within")),
    "rated": ((1, "satisfied"), (1, "basically_satisfied"), (1, "dissatisfied")),
    "content": ((1, "satisfied"), (1, "basically_satisfied")),
}


def _keys_of_case() -> dict[str, Any]:
    return {name: func.coalesce(column, "") for name, column in _CASE_KEYS.items()}


def _keyed_calls(start: datetime, end: datetime, dialect: str) -> Select[Any]:
    """One row per call of [start, end) and scope (queue "" and each queue's share, both
    from one pass over the calls' legs grouped per queue), with its hour and case keys."""
    runs = ((start, end),)
    parts = call_legs(runs, ReportFilter(), dialect, by_queue=True).cte("parts")
    names = list(CALL_PARTS)
    per_queue = select(
        parts.c.pbx, parts.c.uniqueid, parts.c.queue, *(parts.c[n] for n in names)
    ).where(parts.c.queue.is_not(None), parts.c.queue != "")  # "" is the all-queues row
    whole = select(
        parts.c.pbx,
        parts.c.uniqueid,
        literal("").label("queue"),
        *(getattr(func, how)(parts.c[n]).label(n) for n, how in CALL_PARTS.items()),
    ).group_by(parts.c.pbx, parts.c.uniqueid)
    per_call = call_rows(per_queue.union_all(whole).subquery("legs"), runs)
    return (
        select(
            per_call,
            hour_bucket(dialect, per_call.c.at).label("bucket"),
            *(column.label(name) for name, column in _keys_of_case().items()),
        )
        .select_from(per_call.outerjoin(tickets, tickets.c.linkedid == per_call.c.linkedid))
        .where(~_in_window(per_call.c.at))
    )


def _calls_rows(
    start: datetime, end: datetime, thresholds: Thresholds, dialect: str
) -> Select[Any]:
    """rollup_calls' hour rows of [start, end)."""
    keyed = _keyed_calls(start, end, dialect).subquery("keyed")
    grouping = [keyed.c.bucket, keyed.c.queue, *(keyed.c[name] for name in _CASE_KEYS)]
    return select(
        literal("hour").label("span"), *grouping, *_call_aggregates(keyed, thresholds)
    ).group_by(*grouping)


def _call_hours_rows(start: datetime, end: datetime) -> Select[Any]:
    """rollup_call_hours' rows of [start, end), from rollup_calls' hour rows just built."""
    c = rollup_calls.c
    return (
        select(
            c.bucket.label("hour"),
            c.queue,
            *(func.sum(c[name]).label(name) for name in CALL_COUNTS),
            func.max(c.longest_wait).label("longest_wait"),
        )
        .where(c.span == "hour", c.bucket >= start, c.bucket < end)
        .group_by(c.bucket, c.queue)
    )


def _marks_rows(
    start: datetime, end: datetime, thresholds: Thresholds, dialect: str
) -> Select[Any]:
    """rollup_call_marks' rows of [start, end): per call, scope and MARKED_FIGURES figure it
    counts in, what reports.call_keys lists of it (its own SQL: the same per-call rows, the
    same figure conditions, the first leg's caller number and queue)."""
    every = _keyed_calls(start, end, dialect).cte("marked")
    c = every.c
    first = (
        select(calls.c.caller_num, calls.c.queue)
        .where(calls.c.pbx == c.pbx, calls.c.uniqueid == c.uniqueid)
        .order_by(calls.c.leg, calls.c.id)
        .limit(1)
    )
    outcome = case(
        (c.answered == 1, "answered"),
        (c.queue_legs > 0,
         case(*((c.outcome_code == code, name) for code, name in _CODE_OUTCOME.items()),
              else_="ivr_hangup")),
        else_="ivr_hangup",
    )  # fmt: skip
    columns = [
        c.bucket.label("hour"), c.queue, c.at, c.pbx, c.uniqueid, c.linkedid,
        case((c.queue_legs > 0, c.wait)).label("wait_s"), outcome.label("outcome"), c.survey,
        first.with_only_columns(calls.c.caller_num).scalar_subquery().label("caller_num"),
        first.with_only_columns(calls.c.queue).scalar_subquery().label("first_queue"),
        *(c[name] for name in _CASE_KEYS),
    ]  # fmt: skip
    parts = [
        select(literal(figure).label("figure"), *columns).where(
            _call_figure(every, figure, thresholds)
        )
        for figure in MARKED_FIGURES
    ]
    marked = union_all(*parts).subquery("marks")
    return select(*marked.c)


# (dim, rollup_calls' column, extra condition) of rollup_call_hour_keys' rows: a case first
# sent to and held by one unit counts once under it.
_HOUR_KEYS: Final = (
    ("category", rollup_calls.c.category, None),
    ("area", rollup_calls.c.area, None),
    ("unit", rollup_calls.c.first_unit, None),
    ("unit", rollup_calls.c.handling_unit,
     rollup_calls.c.handling_unit != rollup_calls.c.first_unit),
)  # fmt: skip


def _call_hour_keys_rows(start: datetime, end: datetime) -> Select[Any]:
    """rollup_call_hour_keys' rows of [start, end), from rollup_calls' hour rows just built."""
    c = rollup_calls.c
    parts = [
        select(
            c.bucket.label("hour"), c.queue, literal(dim).label("dim"), column.label("value"),
            *(c[name] for name in CALL_COUNTS), c.longest_wait,
        ).where(c.span == "hour", c.bucket >= start, c.bucket < end, column != "",
                *(() if more is None else (more,)))
        for dim, column, more in _HOUR_KEYS
    ]  # fmt: skip
    keyed = union_all(*parts).subquery("keyed")
    grouping = (keyed.c.hour, keyed.c.queue, keyed.c.dim, keyed.c.value)
    return select(
        *grouping,
        *(func.sum(keyed.c[name]).label(name) for name in CALL_COUNTS),
        func.max(keyed.c.longest_wait).label("longest_wait"),
    ).group_by(*grouping)


def _legs_rows(start: datetime, end: datetime, thresholds: Thresholds, dialect: str) -> Any:
    """rollup_legs' hour rows of [start, end)."""
    keys = {"bucket": hour_bucket(dialect, calls.c.counted_at), "queue": calls.c.queue,
            **_keys_of_case()}  # fmt: skip
    tallied = legs_by(
        keys, ((start, end),), ReportFilter(), thresholds, dialect, calls.c.queue.is_not(None),
        source=calls.outerjoin(tickets, tickets.c.linkedid == calls.c.linkedid),
    ).subquery("tallied")  # fmt: skip
    return select(literal("hour").label("span"), *tallied.c)


def _agent_legs_rows(
    start: datetime, end: datetime, thresholds: Thresholds, dialect: str
) -> Any:  # fmt: skip
    """rollup_agent_legs' hour rows of [start, end)."""
    keys = {
        "bucket": hour_bucket(dialect, calls.c.counted_at),
        "queue": func.coalesce(calls.c.queue, ""),
        "pbx": calls.c.pbx,
        "member_interface": func.coalesce(calls.c.member_interface, ""),
        "answered_by": calls.c.answered_by,
    }
    tallied = legs_by(
        keys, ((start, end),), ReportFilter(), thresholds, dialect,
        calls.c.answered_by.is_not(None), calls.c.outcome.in_(ANSWERED_OUTCOMES),
    ).subquery("tallied")  # fmt: skip
    return select(literal("hour").label("span"), *tallied.c)


def _insert(table: Table, rows: Any) -> Any:
    return insert(table).from_select([column.name for column in rows.selected_columns], rows)


async def build(
    connection: AsyncConnection, start: datetime, end: datetime, thresholds: Thresholds
) -> None:
    """Write the hour rows of rollup_calls, rollup_call_hours, rollup_call_hour_keys,
    rollup_call_marks, rollup_legs and rollup_agent_legs for every whole UTC hour in
    [start, end) (refresh.rebuild deleted the old ones in the same transaction)."""
    dialect = connection.dialect.name
    await connection.execute(_insert(rollup_calls, _calls_rows(start, end, thresholds, dialect)))
    await connection.execute(_insert(rollup_call_hours, _call_hours_rows(start, end)))
    await connection.execute(_insert(rollup_call_hour_keys, _call_hour_keys_rows(start, end)))
    await connection.execute(
        _insert(rollup_call_marks, _marks_rows(start, end, thresholds, dialect))
    )
    await connection.execute(_insert(rollup_legs, _legs_rows(start, end, thresholds, dialect)))
    await connection.execute(
        _insert(rollup_agent_legs, _agent_legs_rows(start, end, thresholds, dialect))
    )


# ---- readers ------------------------------------------------------------------------------


def _sums(table: Any, names: tuple[str, ...]) -> list[Any]:
    return [
        *(func.sum(table.c[name]).label(name) for name in names),
        func.max(table.c.longest_wait).label("longest_wait"),
    ]


def _one_case_key(flt: ReportFilter) -> tuple[str, str] | None:
    """(dim, value) when the filter names exactly one of category, area, unit."""
    named = [(dim, value) for dim, value in
             (("category", flt.category), ("area", flt.area), ("unit", flt.unit))
             if value is not None]  # fmt: skip
    return named[0] if len(named) == 1 else None


def _hour_source(plan: Plan, flt: ReportFilter) -> tuple[Any, Any, list[Any]]:
    """(table, its hour column, WHERE) of the rolled hours' call rows for ``flt``: the small
    per-hour table, the per-hour-and-key one for one case key, or the keyed cells."""
    queue = flt.queue or ""
    one = _one_case_key(flt)
    if one is not None:
        k = rollup_call_hour_keys.c
        where = [k.queue == queue, k.dim == one[0], k.value == one[1],
                 in_runs(k.hour, plan.hourly)]  # fmt: skip
        return rollup_call_hour_keys, k.hour, where
    if flt.on_cases:
        c = rollup_calls.c
        where = [c.span == "hour", in_runs(c.bucket, plan.hourly),
                 c.queue == queue, *case_filter(rollup_calls, flt)]  # fmt: skip
        return rollup_calls, c.bucket, where
    h = rollup_call_hours.c
    return rollup_call_hours, h.hour, [in_runs(h.hour, plan.hourly), h.queue == queue]


async def call_hours(
    connection: AsyncConnection, plan: Plan, flt: ReportFilter
) -> list[dict[str, Any]]:
    """``reports.call_hours``' rows of the plan's rolled hours."""
    if not plan.hourly:
        return []
    table, hour, where = _hour_source(plan, flt)
    query = select(hour.label("hour"), *_sums(table, CALL_COUNTS)).where(*where).group_by(hour)
    rows = await connection.execute(query)
    return [_numbers({**row._mapping, "hour": _aware(row.hour)}) for row in rows]


async def figure_hours(
    connection: AsyncConnection, plan: Plan, figure: str, flt: ReportFilter
) -> dict[datetime, int]:
    """Per rolled hour (``plan.hourly``), how many calls a call figure (FIGURE_COUNTS)
    counts; an hour without any is absent."""
    if not plan.hourly:
        return {}
    table, hour, where = _hour_source(plan, flt)
    count = sum(
        (sign * func.coalesce(func.sum(table.c[name]), 0) for sign, name in FIGURE_COUNTS[figure]),
        literal(0),
    )
    query = select(hour.label("hour"), count.label("n")).where(*where).group_by(hour)
    return {_aware(row.hour): int(row.n) for row in await connection.execute(query) if int(row.n)}


async def call_groups(
    connection: AsyncConnection, plan: Plan, by: str, flt: ReportFilter
) -> list[dict[str, Any]]:
    """``reports.call_groups``' rows of the plan's rolled days and hours."""
    if not plan.rolled:
        return []
    c = rollup_calls.c
    key = c[GROUP_COLUMNS[by]]
    query = (
        select(key.label("key"), *_sums(rollup_calls, CALL_COUNTS))
        .where(rolled(rollup_calls, plan), c.queue == (flt.queue or ""),
               *case_filter(rollup_calls, flt))
        .group_by(key)
    )  # fmt: skip
    return [_numbers(dict(row._mapping)) for row in await connection.execute(query)]


async def queue_legs(
    connection: AsyncConnection, plan: Plan, flt: ReportFilter
) -> list[dict[str, Any]]:
    """``reports.queue_legs``' rows of the plan's rolled days and hours."""
    if not plan.rolled:
        return []
    c = rollup_legs.c
    where = [rolled(rollup_legs, plan), *case_filter(rollup_legs, flt)]
    if flt.queue is not None:
        where.append(c.queue == flt.queue)
    query = select(c.queue.label("key"), *_sums(rollup_legs, LEG_COUNTS)).where(*where)
    rows = await connection.execute(query.group_by(c.queue))
    return [_numbers(dict(row._mapping)) for row in rows]


async def agent_legs(
    connection: AsyncConnection, plan: Plan, flt: ReportFilter
) -> list[dict[str, Any]]:
    """``reports.agent_legs``' rows of the plan's rolled days and hours (a queue filter only:
    the rows have no case keys)."""
    if not plan.rolled:
        return []
    if flt.on_cases or flt.agent is not None:
        raise ValueError("rollup_agent_legs serve a queue filter only")
    c = rollup_agent_legs.c
    where = [rolled(rollup_agent_legs, plan)]
    if flt.queue is not None:
        where.append(c.queue == flt.queue)
    members = (
        select(c.pbx, c.member_interface, c.answered_by, *_sums(rollup_agent_legs, LEG_COUNTS))
        .where(*where)
        .group_by(c.pbx, c.member_interface, c.answered_by)
        .subquery("members")
    )
    m = members.c
    # Named as reports.agent_legs names them: the user tied to the member interface, else the
    # queue_log member name (ticketing.qa._agent_key).
    named = members.outerjoin(
        agent_table,
        and_(agent_table.c.interface == m.member_interface, agent_table.c.pbx == m.pbx,
             m.member_interface != ""),
    ).outerjoin(user_table, user_table.c.id == agent_table.c.user_id)  # fmt: skip
    key = func.coalesce(user_table.c.username, m.answered_by)
    query = select(key.label("key"), *_sums(members, LEG_COUNTS)).select_from(named).group_by(key)
    rows = [_numbers(dict(row._mapping)) for row in await connection.execute(query)]
    for row in rows:
        row["ring_no_answer"] = 0  # as reports.agent_legs: an agent's own rings are not counted
    return rows


async def marked_calls(
    connection: AsyncConnection, plan: Plan, figure: str, flt: ReportFilter, limit: int
) -> list[dict[str, Any]]:
    """reports.call_keys' rows of a MARKED_FIGURES figure over the plan's rolled hours
    (``plan.hourly``), oldest first, at most ``limit``: an index range of rollup_call_marks."""
    if not plan.hourly:
        return []
    m = rollup_call_marks.c
    query = (
        select(m.pbx, m.uniqueid, m.linkedid, m.at, m.caller_num, m.first_queue, m.outcome,
               m.wait_s, m.survey)
        .where(m.queue == (flt.queue or ""), m.figure == figure, in_runs(m.hour, plan.hourly),
               *case_filter(rollup_call_marks, flt))
        .order_by(m.at, m.pbx, m.uniqueid)
        .limit(limit)
    )  # fmt: skip
    return [
        {"pbx": row.pbx, "uniqueid": row.uniqueid, "linkedid": row.linkedid,
         "at": _aware(row.at).isoformat(), "caller_num": row.caller_num, "queue": row.first_queue,
         "outcome": row.outcome, "wait_s": row.wait_s, "survey": row.survey}
        for row in await connection.execute(query)
    ]  # fmt: skip
