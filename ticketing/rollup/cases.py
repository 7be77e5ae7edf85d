"""rollup_cases: the case reports' counts per UTC hour of the cases' opening, built and read.

A row is keyed by the hour the cases were opened in (``tickets.created_at``) and what a case
report filters on: category, area (district), first and handling unit (``""`` when absent),
and ``unit``. Rows of unit ``""`` count cases (case_counts) and their call-backs
(case_callback_counts); rows of unit U count the events case_event_counts counts for U (the
unit dispatched to, answering, returning, or holding the case when it was extended, redone or
called back). So case_event_counts by unit is a GROUP BY unit of the U rows, by category, area
or total the sum over them (a case extended while two units held it counts once for each, as
the raw query counts it), and every ReportFilter a WHERE: category, area, and ``unit =
first_unit OR unit = handling_unit`` (ticketing.reports._case_conditions).

The builder is ticketing/reports.py's SQL (the same event selections, holder, deadline in
force) grouped by hour, case keys and unit: one INSERT … SELECT per range, whatever its length.

It also writes rollup_case_marks: per case and chase figure (case_event_ids' lists) the units
it counts for, so a drill-down reads its first cases of a rolled month as an index range in
opening order (marked) instead of every event of the hours holding them with its deadline in
force looked up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.reports import (
    CASE_EVENT_KINDS,
    RATED_ANSWERS,
    SATISFIED_ANSWERS,
    ReportFilter,
    _e,
    _field,
    _finishing,
    _holder,
    _late_return,
    _on_time,
)
from ticketing.rollup.ledger import Plan, in_runs, rolled
from ticketing.rollup.tables import (
    CASE_COUNTS,
    CASE_KEYS,
    case_filter,
    hour_bucket,
    rollup_case_marks,
    rollup_cases,
)
from ticketing.tickets import tickets

# The counts of unit "" rows (per case) and of unit rows (per unit the events count for).
CASE_COLUMNS: Final = ("cases", "done", "called_back", "cb_rated", "cb_satisfied",
                       "cb_process_rated", "cb_process_satisfied")  # fmt: skip
UNIT_COLUMNS: Final = tuple(name for name in CASE_COUNTS if name not in CASE_COLUMNS)

_ONE: Final[Any] = literal_column("1")
_ZERO: Final[Any] = literal_column("0")


def _flag(condition: Any) -> Any:
    return case((condition, _ONE), else_=_ZERO)


def _keys() -> list[Any]:
    """The case's keys as the rollups store them ("" when absent)."""
    return [
        func.coalesce(tickets.c.category, "").label("category"),
        func.coalesce(tickets.c.district, "").label("area"),
        func.coalesce(tickets.c.first_unit, "").label("first_unit"),
        func.coalesce(tickets.c.handling_unit, "").label("handling_unit"),
    ]


def _row(dialect: str, unit: Any, counts: dict[str, Any]) -> list[Any]:
    """A fact row's columns: hour, the case keys, unit, every count (0 unless given)."""
    return [
        hour_bucket(dialect, tickets.c.created_at).label("hour"), *_keys(), unit.label("unit"),
        *(counts.get(name, _ZERO).label(name) for name in CASE_COUNTS),
    ]  # fmt: skip


def _facts(dialect: str, opened: Sequence[Any]) -> Any:
    """One row per case (unit "") and one per event counted for a unit, of the cases
    ``opened`` selects (what ticketing.reports' case queries count, unsummed)."""
    events = _e.join(tickets, tickets.c.id == _e.c.ticket_id)
    none: Any = literal_column("''")
    result = _field(_e, "fields", "satisfaction")
    process = _field(_e, "fields", "process_satisfaction")

    def of(kind: str, unit: Any, counts: dict[str, Any]) -> Select[Any]:
        return (
            select(*_row(dialect, unit, counts))
            .select_from(events)
            .where(*opened, _e.c.kind == kind, unit.is_not(None))
        )

    # Done and called back per case from its events, grouped: as EXISTS per case PostgreSQL
    # hashes every event of the kind in the table (a seq scan of a big year per build).
    finishing = or_(*_finishing())
    flags = (
        select(_e.c.ticket_id, func.max(_flag(finishing)).label("done"),
               func.max(_flag(_e.c.kind == "call_back")).label("called"))
        .select_from(events)
        .where(*opened)
        .group_by(_e.c.ticket_id)
        .subquery("case_flags")
    )  # fmt: skip
    done = func.coalesce(flags.c.done, _ZERO)
    per_case = (
        select(*_row(dialect, none, {
            "cases": _ONE, "done": done,
            "called_back": _flag(and_(flags.c.done == 1, flags.c.called == 1)),
        }))
        .select_from(tickets.outerjoin(flags, flags.c.ticket_id == tickets.c.id))
        .where(*opened)
    )  # fmt: skip
    ratings = (
        select(*_row(dialect, none, {
            "cb_rated": _flag(result.in_(RATED_ANSWERS)),
            "cb_satisfied": _flag(result.in_(SATISFIED_ANSWERS)),
            "cb_process_rated": _flag(process.in_(RATED_ANSWERS)),
            "cb_process_satisfied": _flag(process.in_(SATISFIED_ANSWERS)),
        }))
        .select_from(events)
        .where(*opened, _e.c.kind == "call_back")
    )  # fmt: skip
    holder = _holder()
    # A case counts once per unit however many extensions that unit was given.
    extended_cases = (
        select(_e.c.ticket_id, holder.label("holder"))
        .where(_e.c.kind == "approve_extension", _e.c.ticket_id.in_(
            select(tickets.c.id).where(*opened)))
        .distinct()
        .subquery("extended_cases")
    )  # fmt: skip
    extended = (
        select(*_row(dialect, extended_cases.c.holder, {"extended": _ONE}))
        .select_from(extended_cases.join(tickets, tickets.c.id == extended_cases.c.ticket_id))
        .where(extended_cases.c.holder.is_not(None))
    )
    return union_all(
        per_case,
        ratings,
        of("dispatch", _field(_e, "fields", "unit"), {"dispatched": _ONE}),
        of("answer", _field(_e, "unit"),
           {"answered": _ONE, "on_time": _flag(_on_time(dialect))}),
        extended,
        of("redo", _holder(), {"redone": _ONE}),
        of("return", _field(_e, "unit"),
           {"returned": _ONE, "late_returns": _flag(_late_return(dialect))}),
        of("call_back", _holder(), {
            "rated": _flag(result.in_(RATED_ANSWERS)),
            "satisfied": _flag(result.in_(SATISFIED_ANSWERS)),
            "top": _flag(result == "satisfied"),
        }),
    )  # fmt: skip


# case_event_ids' figures, each kept as marks.
MARK_FIGURES: Final = tuple(CASE_EVENT_KINDS)
_MARK_COLUMNS: Final = ("hour", "figure", "created_at", "ticket_id", "unit", *CASE_KEYS)


def _marks(dialect: str, opened: Sequence[Any]) -> Any:
    """One row per case of ``opened`` and figure of case_event_ids and unit the figure
    counts it for ("" for none): the events ticketing.reports.case_event_ids_where selects."""
    events = _e.join(tickets, tickets.c.id == _e.c.ticket_id)
    hour = hour_bucket(dialect, tickets.c.created_at).label("hour")

    def of(figure: str, owner: Any, *conditions: Any) -> Select[Any]:
        return (
            select(hour, literal_column(f"'{figure}'").label("figure"),
                   tickets.c.created_at, tickets.c.id.label("ticket_id"),
                   func.coalesce(owner, "").label("unit"), *_keys())
            .select_from(events)
            .where(*opened, _e.c.kind == CASE_EVENT_KINDS[figure], *conditions)
            .distinct()  # a case counts once per unit however many such events it has
        )  # fmt: skip

    answerer = _field(_e, "unit")
    # A unit's figures count only the events counted for a unit; ``dissatisfied`` is a
    # hotline figure (unit None lists every such call-back, "" marks one held by no unit).
    return union_all(
        of("overdue", answerer, ~_on_time(dialect), answerer.is_not(None)),
        of("extended", _holder(), _holder().is_not(None)),
        of("redone", _holder(), _holder().is_not(None)),
        of("returned", answerer, answerer.is_not(None)),
        of("dissatisfied", _holder(), _field(_e, "fields", "satisfaction") == "dissatisfied"),
    )


async def build(connection: AsyncConnection, start: datetime, end: datetime) -> None:
    """INSERT the span='hour' rows of rollup_cases and the rollup_case_marks rows for the
    cases opened in [start, end) (whole UTC hours; refresh.rebuild deleted the range's rows
    first)."""
    opened = [tickets.c.created_at >= start, tickets.c.created_at < end]
    dialect = connection.dialect.name
    facts = _facts(dialect, opened).subquery("facts")
    keys = [facts.c.hour, *(facts.c[name] for name in (*CASE_KEYS, "unit"))]
    source = select(
        literal_column("'hour'"), *keys, *(func.sum(facts.c[name]) for name in CASE_COUNTS)
    ).group_by(*keys)
    names = ["span", "bucket", *CASE_KEYS, "unit", *CASE_COUNTS]
    await connection.execute(rollup_cases.insert().from_select(names, source))
    marks = _marks(dialect, opened).subquery("marks")
    await connection.execute(
        rollup_case_marks.insert().from_select(
            list(_MARK_COLUMNS), select(*(marks.c[name] for name in _MARK_COLUMNS))
        )
    )


# ---- reading ---------------------------------------------------------------------------------


def servable(flt: ReportFilter) -> bool:
    """Whether the rollups can answer ``flt``: keys are "" for an absent value, so a filter
    on "" itself (which the raw queries match only to stored "") must be read raw."""
    return "" not in (flt.category, flt.area, flt.unit)


def per_case() -> ColumnElement[bool]:
    return rollup_cases.c.unit == ""


def per_unit(unit: str | None) -> ColumnElement[bool]:
    """The rows of one unit's events, or of every unit's."""
    return rollup_cases.c.unit != "" if unit is None else rollup_cases.c.unit == unit


async def sums(
    connection: AsyncConnection,
    plan: Plan,
    flt: ReportFilter,
    key: Any | None,
    names: Iterable[str],
    *where: ColumnElement[bool],
) -> dict[str, dict[str, int]]:
    """The plan's rolled rows matching ``flt`` and ``where``, summed per ``key`` (a column of
    rollup_cases; None: all in one, keyed ""); a key is there when a row is."""
    if not (plan.days or plan.hours):
        return {}
    names = tuple(names)
    columns = [func.count().label("rows"), *(func.sum(rollup_cases.c[n]).label(n) for n in names)]
    rows = [rolled(rollup_cases, plan), *case_filter(rollup_cases, flt), *where]
    query = select(*columns).where(*rows)
    if key is not None:
        query = select(key.label("key"), *columns).where(*rows).group_by(key)
    out: dict[str, dict[str, int]] = {}
    for row in await connection.execute(query):
        if not row.rows:
            continue
        found = "" if key is None else (row.key or "")
        out[found] = {name: int(row._mapping[name] or 0) for name in names}
    return out


async def buckets(
    connection: AsyncConnection,
    span: str,
    runs: Sequence[tuple[datetime, datetime]],
    flt: ReportFilter,
    figure: Any,
    *where: ColumnElement[bool],
) -> list[tuple[datetime, int]]:
    """The ``span`` buckets in ``runs`` whose rows matching ``flt`` and ``where`` sum
    ``figure`` (an expression of rollup_cases' counts) above 0, oldest first."""
    if not runs:
        return []
    total = func.sum(figure)
    query = (
        select(rollup_cases.c.bucket, total.label("n"))
        .where(rollup_cases.c.span == span, in_runs(rollup_cases.c.bucket, runs),
               *case_filter(rollup_cases, flt), *where)
        .group_by(rollup_cases.c.bucket)
        .having(total > 0)
        .order_by(rollup_cases.c.bucket)
    )  # fmt: skip
    return [(row.bucket, int(row.n)) for row in await connection.execute(query)]


async def marked(
    connection: AsyncConnection,
    figure: str,
    runs: Sequence[tuple[datetime, datetime]],
    flt: ReportFilter,
    unit: str | None,
    limit: int,
) -> list[int]:
    """The first ``limit`` cases by opening (created_at, id) marked for ``figure`` (of
    ``unit``, or of any) in the rolled hours ``runs`` and matching ``flt``: case_event_ids
    of those hours, read along the marks' key (figure, created_at, ticket_id, unit)."""
    if not runs or limit <= 0:
        return []
    m = rollup_case_marks.c
    where = [m.figure == figure, in_runs(m.hour, runs), *case_filter(rollup_case_marks, flt)]
    # The hours bound the key's range (created_at is in its hour); the runs pick inside it.
    where += [m.created_at >= runs[0][0], m.created_at < runs[-1][1]]
    if unit is not None:
        where.append(m.unit == unit)
    query = (
        select(m.created_at, m.ticket_id)
        .where(*where)
        .distinct()
        .order_by(m.created_at, m.ticket_id)
        .limit(limit)
    )
    return [int(row.ticket_id) for row in await connection.execute(query)]
