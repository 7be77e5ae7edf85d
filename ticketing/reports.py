"""The report queries (日报/周报/月度简报): one function per query, SQLAlchemy Core, the same SQL on
SQLite and PostgreSQL. The figures are built from these rows elsewhere (hotline/reports/,
through acd.kpi's formulas and ticketing.workflow.case_kpis): this module only reads.

Every query takes a period ``[start, end)`` (aware datetimes) and a ``ReportFilter`` (queue,
category, area = the case's district, unit); calls match category, area and unit through
the case opened for them (``tickets.linkedid``). Call queries leave out the calls that arrived
in a supervisor's exclusion window (``kpi_exclusions``), as acd.kpi.compute does.

Indexes each query relies on (bench/reports.py times them on a big city's year):

- ``call_hours``, ``call_groups``, ``queue_legs``, ``agent_legs``, ``excluded_calls``,
  ``call_keys``: the
  range scan on ``ix_call_records_counted_at``; a call's other legs (those counted before or
  after the period: a call belongs to its first leg's period) by
  ``ix_call_records_pbx_uniqueid``, once per call; ``excluded_calls`` and the ``excluded``
  drill-down scan only the exclusion windows' spans; the exclusion test probes
  ``ix_kpi_exclusions_starts_at`` (a handful of rows); surveys join on the unique
  ``survey_results.linkedid``; a category/area/unit filter probes the unique
  ``tickets.linkedid`` and then needs an index on the filtered column of ``tickets``
  (``handling_unit`` has one; ``category``, ``district`` and ``first_unit`` do not yet).
- ``case_counts``, ``case_histories``, ``case_keys``: a range on ``tickets.created_at`` (not
  indexed alone yet: ``ix_tickets_caller_number_created_at`` leads with the caller; a
  ``tickets(created_at)`` index is what a big year needs), then ``ix_ticket_events_ticket_id``.
- ``case_event_counts``, ``case_callback_counts``, ``case_event_ids``, ``case_ids``: the same
  range on ``tickets.created_at``, then each case's events by ``ix_ticket_events_ticket_id``
  (filtered by ``kind``); the deadline in force and the unit holding the case are correlated
  lookups of the case's latest earlier event, which an index on ``ticket_events(ticket_id,
  id)`` serves without a sort. They count what ticketing.workflow.case_kpis computes from
  whole histories (the tests hold the two equal); ``case_histories`` remains for the few
  drill-downs ``case_ids`` does not list (a shortfall of the extension, redo, return rates).
  The drill-downs list cases by opening (``created_at``, ``id``), so a list's first ``limit``
  cases are in its first hours: the rollups bound the hours a list reads (ticketing/rollup).
  Each case query has a ``…_where`` form taking the conditions on ``tickets`` (the rollups
  read the hours they do not hold so: several runs of hours in one query).
- ``qa_agent_scores``: ``ix_qa_scores_call_at``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Select,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.call_rows import calls
from ticketing.exclusions import kpi_exclusions
from ticketing.qa import _agent_join as agent_join
from ticketing.qa import _agent_key as agent_key
from ticketing.qa import _agents as agent_table
from ticketing.qa import _users as user_table
from ticketing.qa import qa_scores
from ticketing.surveys import survey_results
from ticketing.tickets import ticket_events, tickets

QUEUE_OUTCOMES: Final = ("answered", "transferred", "abandoned", "timeout", "joinempty")
ANSWERED_OUTCOMES: Final = ("answered", "transferred")
# A leg's outcome as a digit, so "the last queue leg's outcome" is max(leg * 10 + code) % 10.
_OUTCOME_CODE: Final = {"answered": 1, "transferred": 2, "abandoned": 3, "timeout": 4,
                        "joinempty": 5}  # fmt: skip
_CODE_OUTCOME: Final = {code: outcome for outcome, code in _OUTCOME_CODE.items()}
# "The first answered leg's wait" is min(leg * _BIG + wait) % _BIG: one pass, no window function.
_BIG: Final = 10_000_000
# The dimensions case counts and hot topics group by.
CASE_DIMENSIONS: Final = {"category": tickets.c.category, "area": tickets.c.district,
                          "unit": tickets.c.first_unit}  # fmt: skip
# The call figures a drill-down can list the calls of (hotline-wide, call scope).
CALL_FIGURES: Final = (
    "calls", "offered", "answered", "answered_within", "answered_late", "abandoned",
    "short_abandons", "timeouts", "join_rejections", "ivr_hangups", "satisfied",
    "basically_satisfied", "dissatisfied", "survey_none", "rated", "content", "deflected",
    "excluded",
)  # fmt: skip
DRILL_LIMIT: Final = 5000


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """Which calls and cases a report covers; None = all."""

    queue: str | None = None
    category: str | None = None
    area: str | None = None  # the case's district (区域)
    unit: str | None = None  # the unit first dispatched to, or holding the case now
    # Calls only: the legs an agent answered (named as the QA desk names agents: the user
    # tied to the member interface, else the queue_log member name); cases are not filtered.
    agent: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"queue": self.queue, "category": self.category, "area": self.area,
                "unit": self.unit, "agent": self.agent}  # fmt: skip

    @property
    def on_cases(self) -> bool:
        return any(v is not None for v in (self.category, self.area, self.unit))


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The KPI policy the call queries need (acd.kpi.KpiParams' two thresholds)."""

    answer_threshold_s: int = 15
    short_abandon_s: int = 5


def _aware(value: Any) -> datetime:
    """A bucket or timestamp as an aware UTC datetime, whichever way the dialect returns it."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"not a time: {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _need_aware(*moments: datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None:
            raise ValueError(f"naive datetime {moment!r}: give a timezone-aware value")


def _case_conditions(flt: ReportFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if flt.category is not None:
        where.append(tickets.c.category == flt.category)
    if flt.area is not None:
        where.append(tickets.c.district == flt.area)
    if flt.unit is not None:
        where.append(or_(tickets.c.first_unit == flt.unit, tickets.c.handling_unit == flt.unit))
    return where


# A period as runs: [start, end) pieces, oldest first (ticketing.rollup.ledger reads the
# parts of a period its rollups do not hold this way).
Run = tuple[datetime, datetime]


def in_runs(column: Any, runs: Sequence[Run]) -> ColumnElement[bool]:
    """``column`` in one of the [start, end) ``runs`` (false for none)."""
    if not runs:
        return false()
    return or_(*(and_(column >= start, column < end) for start, end in runs))


def _bounds(runs: Sequence[Run]) -> Run:
    if not runs:
        raise ValueError("a query needs a period")
    _need_aware(*(moment for run in runs for moment in run))
    return min(start for start, _ in runs), max(end for _, end in runs)


def _leg_scope(flt: ReportFilter) -> list[Any]:
    """The legs a queue or agent filter keeps (a leg-level choice: a call is its legs in
    scope)."""
    where: list[Any] = []
    if flt.queue is not None:
        where.append(calls.c.queue == flt.queue)
    if flt.agent is not None:
        linked = (
            select(agent_table.c.id)
            .join(user_table, user_table.c.id == agent_table.c.user_id)
            .where(agent_table.c.interface == calls.c.member_interface,
                   agent_table.c.pbx == calls.c.pbx, user_table.c.username == flt.agent)
        )  # fmt: skip
        where.append(calls.c.outcome.in_(ANSWERED_OUTCOMES))
        where.append(or_(calls.c.answered_by == flt.agent, linked.exists()))
    return where


def _case_scope(flt: ReportFilter, start: datetime, end: datetime) -> list[Any]:
    """The legs whose call opened a case the filter keeps (a call's legs share its linkedid)."""
    if not flt.on_cases:
        return []
    # A call's case is opened at its first leg's counted_at (ticketing.tickets), so it
    # was opened before ``end`` and, calls lasting less than a day, after ``start`` - 1 day:
    # bounding tickets so keeps a month's filter on ix_tickets_created_at instead of
    # reading every case of the category or area ever opened (bench/reports.py).
    return [
        calls.c.linkedid.in_(
            select(tickets.c.linkedid).where(
                tickets.c.linkedid.is_not(None),
                tickets.c.created_at >= start - timedelta(days=1),
                tickets.c.created_at < end,
                *_case_conditions(flt),
            )
        )
    ]


def _leg_conditions(runs: Sequence[Run], flt: ReportFilter) -> list[Any]:
    """The legs counted in ``runs`` (each at its own counted_at) the filter keeps."""
    start, end = _bounds(runs)
    return [in_runs(calls.c.counted_at, runs), *_leg_scope(flt), *_case_scope(flt, start, end)]


def _in_window(at: Any) -> Any:
    return exists().where(kpi_exclusions.c.starts_at <= at, kpi_exclusions.c.ends_at > at)


async def _window_runs(connection: AsyncConnection, runs: Sequence[Run]) -> list[Run]:
    """The parts of ``runs`` inside an exclusion window, merged, oldest first: the only
    places an excluded call can have arrived (a handful of windows, not every call)."""
    start, end = _bounds(runs)
    found = await connection.execute(
        select(kpi_exclusions.c.starts_at, kpi_exclusions.c.ends_at).where(
            kpi_exclusions.c.starts_at < end, kpi_exclusions.c.ends_at > start
        )
    )
    windows = sorted((_aware(row.starts_at), _aware(row.ends_at)) for row in found)
    merged: list[Run] = []
    for w_start, w_end in windows:
        if merged and w_start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], w_end))
        else:
            merged.append((w_start, w_end))
    return [
        (max(w_start, r_start), min(w_end, r_end))
        for w_start, w_end in merged
        for r_start, r_end in sorted(runs)
        if max(w_start, r_start) < min(w_end, r_end)
    ]


def _utc_hour(dialect: str, at: Any) -> Any:
    """The UTC hour ``at`` falls in (a bucket key); the local hour and day are made from it."""
    # Literal SQL, not bound parameters: PostgreSQL matches the GROUP BY expression to the
    # selected one only when both are the same text.
    if dialect == "postgresql":
        return func.date_trunc(literal_column("'hour'"), func.timezone(literal_column("'UTC'"), at))
    return func.strftime(literal_column("'%Y-%m-%d %H:00:00'"), at)


def _ring_count(dialect: str) -> Any:
    if dialect == "postgresql":
        return func.coalesce(func.jsonb_array_length(calls.c.ring_no_answer), 0)
    return func.coalesce(func.json_array_length(calls.c.ring_no_answer), 0)


# How a call's leg aggregates (_leg_parts) combine over groups of its legs (the SQL
# function): each is a sum, a min or a max, so a call's row is the same made from all its
# legs at once or from the rows of its legs per queue (ticketing.rollup.calls builds both
# from one pass).
CALL_PARTS: Final = {
    "linkedid": "max", "at": "min", "queue_legs": "sum", "answered": "max",
    "first_answer": "min", "last_queue": "max", "last_outcome": "max",
    "handlings": "sum", "talk": "sum", "transfers": "sum", "rings": "sum",
    "deflected": "max",
}  # fmt: skip


def _leg_parts(dialect: str) -> list[Any]:
    """Aggregates over a call's legs (``calls`` rows), in CALL_PARTS' order."""
    in_queue = calls.c.outcome.in_(QUEUE_OUTCOMES)
    answered = calls.c.outcome.in_(ANSWERED_OUTCOMES)
    leg = cast(func.coalesce(calls.c.leg, 0), BigInteger)
    wait = cast(func.coalesce(calls.c.wait_s, 0), BigInteger)
    code = case(*((calls.c.outcome == o, c) for o, c in _OUTCOME_CODE.items()), else_=0)
    one = literal(1)
    parts = {
        "linkedid": func.max(calls.c.linkedid),
        "at": func.min(calls.c.counted_at),
        "queue_legs": func.sum(case((in_queue, one), else_=0)),
        "answered": func.max(case((answered, one), else_=0)),
        "first_answer": func.min(case((answered, leg * _BIG + wait))),
        "last_queue": func.max(case((in_queue, leg * _BIG + wait))),
        "last_outcome": func.max(case((in_queue, leg * 10 + code))),
        "handlings": func.sum(case((answered, one), else_=0)),
        "talk": func.sum(case((answered, func.coalesce(calls.c.talk_s, 0)), else_=0)),
        "transfers": func.sum(case((calls.c.outcome == "transferred", one), else_=0)),
        "rings": func.sum(_ring_count(dialect)),
        "deflected": func.max(case((calls.c.incident_id.is_not(None), one), else_=0)),
    }
    return [parts[name].label(name) for name in CALL_PARTS]


def call_legs(
    runs: Sequence[Run], flt: ReportFilter, dialect: str, by_queue: bool = False,
    *narrow: Any,
) -> Select[Any]:  # fmt: skip
    """Per call (a PBX's uniqueid; a transfer makes several legs; with ``by_queue`` per call
    and queue) that has a leg in ``runs`` the filter keeps: the aggregates of ALL its legs the
    filter keeps, those counted before or after the runs too. A call so belongs to the period
    of its first leg (in scope) and brings every leg: a transfer counted after an hour's end
    does not make it two calls, one per hour, and hours and days sum to the month. ``narrow``:
    conditions on the legs in ``runs`` that every leg in scope of the calls wanted meets (so
    the calls kept are the same, fewer are looked at)."""
    start, end = _bounds(runs)
    scope = _leg_scope(flt)
    candidates = (
        select(calls.c.pbx, calls.c.uniqueid)
        .where(in_runs(calls.c.counted_at, runs), *scope, *_case_scope(flt, start, end), *narrow)
        .distinct()
        .subquery("candidates")
    )
    same_call = [calls.c.pbx == candidates.c.pbx, calls.c.uniqueid == candidates.c.uniqueid]
    keys = [calls.c.queue] if by_queue else []
    if dialect == "postgresql":
        # LATERAL: each candidate's legs through ix_call_records_pbx_uniqueid. Joined, a
        # month's few thousand calls made PostgreSQL hash the whole table instead.
        parts = (
            select(*keys, *_leg_parts(dialect))
            .where(*same_call, *scope)
            .group_by(*keys)
            .lateral("parts")
        )
        return select(candidates.c.pbx, candidates.c.uniqueid, parts).select_from(
            candidates.join(parts, true())
        )
    return (
        select(candidates.c.pbx, candidates.c.uniqueid, *keys, *_leg_parts(dialect))
        .select_from(candidates.join(calls, and_(*same_call)))
        .where(*scope)
        .group_by(candidates.c.pbx, candidates.c.uniqueid, *keys)
    )


def call_rows(legs: Any, runs: Sequence[Run]) -> Any:
    """One row per call of ``legs`` (``call_legs``' rows) that arrived in ``runs``: its
    columns plus the wait until the first answer or in its last queue, the last queue leg's
    outcome and the survey, as acd.kpi.calls.Call defines them."""
    wait_of_call = case(
        (legs.c.answered == 1, legs.c.first_answer % _BIG), else_=legs.c.last_queue % _BIG
    )
    return (
        select(
            legs,
            wait_of_call.label("wait"),
            (legs.c.last_outcome % 10).label("outcome_code"),
            _survey_of(legs.c.linkedid),
        )
        .where(in_runs(legs.c.at, runs))
        .offset(0)
        .subquery("per_call")
    )  # OFFSET 0: one survey lookup per call (see _legs_by)


def _per_call(runs: Sequence[Run], flt: ReportFilter, dialect: str, *narrow: Any) -> Any:
    """One row per call that arrived in ``runs`` (its first leg in scope did)."""
    return call_rows(call_legs(runs, flt, dialect, False, *narrow).subquery("legs"), runs)


# What every leg of a figure's calls has, so a drill-down looks only at the calls with such a
# leg in its hours: the survey answer (by the unique linkedid, which a call's legs share), no
# agent (the abandoned, short abandons, timeouts, join rejections: no leg answered), no queue.
_SURVEY_FIGURES: Final = {
    "satisfied": ("satisfied",), "basically_satisfied": ("basically_satisfied",),
    "dissatisfied": ("dissatisfied",), "survey_none": ("none",),
    "rated": ("satisfied", "basically_satisfied", "dissatisfied"),
    "content": ("satisfied", "basically_satisfied"),
}  # fmt: skip


_UNANSWERED_FIGURES: Final = ("abandoned", "short_abandons", "timeouts", "join_rejections")


def _narrowed(figure: str) -> list[Any]:
    if figure in _UNANSWERED_FIGURES:
        return [or_(calls.c.outcome.is_(None), calls.c.outcome.not_in(ANSWERED_OUTCOMES))]
    if figure == "ivr_hangups":
        return [or_(calls.c.outcome.is_(None), calls.c.outcome.not_in(QUEUE_OUTCOMES))]
    answers = _SURVEY_FIGURES.get(figure)
    if answers is None:
        return []
    rated = exists().where(
        survey_results.c.linkedid == calls.c.linkedid, survey_results.c.answer.in_(answers)
    )
    return [rated]


def _call_figure(per_call: Any, figure: str, thresholds: Thresholds) -> ColumnElement[bool]:
    """The condition that puts a call (a row of ``_per_call``) in a figure's count."""
    c = per_call.c
    offered = c.queue_legs > 0
    not_answered = and_(offered, c.answered == 0)
    short = thresholds.short_abandon_s
    conditions: dict[str, ColumnElement[bool]] = {
        "calls": literal(True),
        "offered": offered,
        "answered": c.answered == 1,
        "answered_within": and_(c.answered == 1, c.wait <= thresholds.answer_threshold_s),
        "answered_late": and_(c.answered == 1, c.wait > thresholds.answer_threshold_s),
        "abandoned": and_(not_answered, c.outcome_code == _OUTCOME_CODE["abandoned"]),
        "short_abandons": and_(
            not_answered,
            c.outcome_code == _OUTCOME_CODE["abandoned"],
            literal(short > 0),
            c.wait <= short,
        ),
        "timeouts": and_(not_answered, c.outcome_code == _OUTCOME_CODE["timeout"]),
        "join_rejections": and_(not_answered, c.outcome_code == _OUTCOME_CODE["joinempty"]),
        "ivr_hangups": c.queue_legs == 0,
        "deflected": c.deflected == 1,
    }
    for answer in ("satisfied", "basically_satisfied", "dissatisfied"):
        conditions[answer] = c.survey == answer
    conditions["survey_none"] = c.survey == "none"
    # The satisfaction rate's denominator (rated) and numerator (satisfied or basically).
    conditions["rated"] = c.survey.in_(("satisfied", "basically_satisfied", "dissatisfied"))
    conditions["content"] = c.survey.in_(("satisfied", "basically_satisfied"))
    if figure not in conditions:
        raise ValueError(f"unknown call figure {figure!r}")
    return conditions[figure]


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _call_aggregates(per_call: Any, thresholds: Thresholds) -> list[Any]:
    """The counts and sums of acd.kpi.Tally over a group of ``_per_call`` rows."""
    c = per_call.c

    def n(figure: str) -> Any:
        return _count(_call_figure(per_call, figure, thresholds)).label(figure)

    answered = c.answered == 1
    return [
        n("calls"), n("offered"), n("answered"), n("answered_within"), n("abandoned"),
        n("short_abandons"), n("timeouts"), n("join_rejections"), n("ivr_hangups"),
        n("satisfied"), n("basically_satisfied"), n("dissatisfied"), n("survey_none"),
        n("deflected"),
        func.sum(c.transfers).label("transfers"),
        func.sum(c.handlings).label("handlings"),
        func.sum(c.rings).label("ring_no_answer"),
        func.sum(case((answered, c.wait), else_=0)).label("answered_wait_s"),
        func.sum(c.talk).label("talk_s"),
        func.max(case((c.queue_legs > 0, c.wait))).label("longest_wait"),
    ]  # fmt: skip


async def call_hours(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    flt: ReportFilter = ReportFilter(),
    thresholds: Thresholds = Thresholds(),
) -> list[dict[str, Any]]:
    """Per UTC hour, the counts and sums behind the hotline-wide call figures (a call counts
    once, in the hour it arrived), exclusion windows left out: ``hour`` (aware UTC) and the
    fields of acd.kpi.Tally (``longest_wait`` for its waits). Sum hours for days and totals."""
    return await call_hours_in(connection, ((start, end),), flt, thresholds)


async def call_hours_in(
    connection: AsyncConnection, runs: Sequence[Run], flt: ReportFilter, thresholds: Thresholds
) -> list[dict[str, Any]]:
    """``call_hours`` of the calls that arrived in ``runs``."""
    per_call = _per_call(runs, flt, connection.dialect.name)
    c = per_call.c
    hour = _utc_hour(connection.dialect.name, c.at).label("hour")

    query = (
        select(hour, *_call_aggregates(per_call, thresholds))
        .where(~_in_window(c.at))
        .group_by(hour)
        .order_by(hour)
    )
    rows = await connection.execute(query)
    return [_numbers({**row._mapping, "hour": _aware(row.hour)}) for row in rows]


CALL_GROUPS: Final = {"category": tickets.c.category, "area": tickets.c.district,
                       "unit": tickets.c.first_unit}  # fmt: skip


async def call_groups(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    by: str,
    flt: ReportFilter = ReportFilter(),
    thresholds: Thresholds = Thresholds(),
) -> list[dict[str, Any]]:
    """Per category, area or unit of the case each call opened (``tickets.linkedid``; a call
    without a case is keyed ``""``), the same counts as ``call_hours``: call KPIs per
    category, area and unit. Exclusion windows left out."""
    return await call_groups_in(connection, ((start, end),), by, flt, thresholds)


async def call_groups_in(
    connection: AsyncConnection,
    runs: Sequence[Run],
    by: str,
    flt: ReportFilter,
    thresholds: Thresholds,
) -> list[dict[str, Any]]:
    """``call_groups`` of the calls that arrived in ``runs``."""
    # "" for a call without a case or a case without the key, in the SQL: a NULL would sort
    # last on PostgreSQL and first on SQLite.
    column = func.coalesce(CALL_GROUPS[by], "")
    per_call = _per_call(runs, flt, connection.dialect.name)
    grouped = (
        select(column.label("key"), per_call)
        .select_from(per_call.outerjoin(tickets, tickets.c.linkedid == per_call.c.linkedid))
        .where(~_in_window(per_call.c.at))
        .subquery("grouped")
    )
    query = (
        select(grouped.c.key, *_call_aggregates(grouped, thresholds))
        .group_by(grouped.c.key)
        .order_by(grouped.c.key)
    )
    return [_numbers(dict(row._mapping)) for row in await connection.execute(query)]


async def excluded_calls(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    flt: ReportFilter = ReportFilter(),
) -> dict[str, int]:
    """Calls left out by exclusion windows, per window reason (a call two windows cover
    counts under each). Only the windows' spans are read, not every call of the period."""
    windows = await _window_runs(connection, ((start, end),))
    if not windows:
        return {}
    per_call = _per_call(windows, flt, connection.dialect.name)
    query = (
        select(kpi_exclusions.c.reason, func.count().label("calls"))
        .select_from(
            per_call.join(
                kpi_exclusions,
                and_(
                    kpi_exclusions.c.starts_at <= per_call.c.at,
                    kpi_exclusions.c.ends_at > per_call.c.at,
                ),
            )
        )
        .group_by(kpi_exclusions.c.reason)
        .order_by(kpi_exclusions.c.reason)
    )
    return {row.reason: int(row.calls) for row in await connection.execute(query)}


def _leg_tally_columns(thresholds: Thresholds, legs: Any) -> list[Any]:
    """The tally of ``legs`` (``_legs_by``'s rows: a leg's outcome, wait, talk, rings, survey)."""
    c = legs.c
    in_queue = c.outcome.in_(QUEUE_OUTCOMES)
    answered = c.outcome.in_(ANSWERED_OUTCOMES)
    wait = func.coalesce(c.wait_s, 0)
    short = thresholds.short_abandon_s
    abandoned = c.outcome == "abandoned"

    def survey(answer: str) -> Any:
        # A leg carries the call's survey only if an agent answered it (acd.kpi.tally).
        return _count(and_(answered, c.survey == answer))

    return [
        func.count().label("legs"),
        _count(in_queue).label("offered"),
        _count(answered).label("answered"),
        _count(and_(answered, wait <= thresholds.answer_threshold_s)).label("answered_within"),
        _count(abandoned).label("abandoned"),
        _count(and_(abandoned, literal(short > 0), wait <= short)).label("short_abandons"),
        _count(c.outcome == "timeout").label("timeouts"),
        _count(c.outcome == "joinempty").label("join_rejections"),
        _count(~in_queue).label("ivr_hangups"),
        _count(c.outcome == "transferred").label("transfers"),
        _count(answered).label("handlings"),
        func.sum(c.rings).label("ring_no_answer"),
        survey("satisfied").label("satisfied"),
        survey("basically_satisfied").label("basically_satisfied"),
        survey("dissatisfied").label("dissatisfied"),
        survey("none").label("survey_none"),
        _count(c.incident_id.is_not(None)).label("deflected"),
        func.sum(case((answered, wait), else_=0)).label("answered_wait_s"),
        func.sum(case((answered, func.coalesce(c.talk_s, 0)), else_=0)).label("talk_s"),
        func.max(case((in_queue, wait))).label("longest_wait"),
    ]


def _survey_of(linkedid: Any) -> Any:
    """A call's survey answer, looked up on the unique linkedid: joined instead, a month's
    legs made PostgreSQL hash every survey ever stored (bench/reports.py)."""
    return (
        select(survey_results.c.answer)
        .where(survey_results.c.linkedid == linkedid)
        .scalar_subquery()
        .label("survey")
    )


def legs_by(
    keys: Mapping[str, Any], runs: Sequence[Run], flt: ReportFilter, thresholds: Thresholds,
    dialect: str, *more: Any, source: Any = calls,
) -> Select[Any]:  # fmt: skip
    """The tally of the legs counted in ``runs`` (each at its own counted_at; a leg entered
    in an exclusion window left out) per ``keys`` (name: expression over ``source``)."""
    legs = (
        select(
            *(column.label(name) for name, column in keys.items()),
            calls.c.outcome, calls.c.wait_s, calls.c.talk_s,
            calls.c.incident_id, _ring_count(dialect).label("rings"),
            _survey_of(calls.c.linkedid),
        )
        .select_from(source)
        .where(*_leg_conditions(runs, flt), ~_in_window(calls.c.counted_at), *more)
        # OFFSET 0 keeps PostgreSQL from folding this into the aggregate, which would look
        # the survey up again for each of the four counts that read it.
        .offset(0)
        .subquery("legs")
    )  # fmt: skip
    grouping = [legs.c[name] for name in keys]
    return select(*grouping, *_leg_tally_columns(thresholds, legs)).group_by(*grouping)


async def queue_legs(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    flt: ReportFilter = ReportFilter(),
    thresholds: Thresholds = Thresholds(),
) -> list[dict[str, Any]]:
    """Per queue, the counts behind the per-queue figures (legs: each queue a call was offered
    to counts it). A leg is left out when it entered in an exclusion window."""
    return await queue_legs_in(connection, ((start, end),), flt, thresholds)


async def queue_legs_in(
    connection: AsyncConnection, runs: Sequence[Run], flt: ReportFilter, thresholds: Thresholds
) -> list[dict[str, Any]]:
    """``queue_legs`` of the legs counted in ``runs``."""
    query = legs_by(
        {"key": calls.c.queue}, runs, flt, thresholds, connection.dialect.name,
        calls.c.queue.is_not(None),
    ).order_by("key")  # fmt: skip
    return [_numbers(dict(row._mapping)) for row in await connection.execute(query)]


async def agent_legs(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    flt: ReportFilter = ReportFilter(),
    thresholds: Thresholds = Thresholds(),
) -> list[dict[str, Any]]:
    """Per agent, the counts behind the per-agent figures of the legs they answered; agents
    are named as the QA scores name them (the user tied to the member interface, else the
    queue_log member name), so an agent's calls and QA score meet in one row (each answered
    leg looks its agent up in the small ``agents`` table by interface and PBX)."""
    return await agent_legs_in(connection, ((start, end),), flt, thresholds)


async def agent_legs_in(
    connection: AsyncConnection, runs: Sequence[Run], flt: ReportFilter, thresholds: Thresholds
) -> list[dict[str, Any]]:
    """``agent_legs`` of the legs counted in ``runs``."""
    query = legs_by(
        {"key": agent_key()}, runs, flt, thresholds, connection.dialect.name,
        calls.c.answered_by.is_not(None), calls.c.outcome.in_(ANSWERED_OUTCOMES),
        source=agent_join(),
    ).order_by("key")  # fmt: skip
    rows = [_numbers(dict(row._mapping)) for row in await connection.execute(query)]
    for row in rows:
        row["ring_no_answer"] = 0  # an agent's own rings are in the ring_no_answer lists
    return rows


async def call_keys(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    figure: str,
    flt: ReportFilter = ReportFilter(),
    thresholds: Thresholds = Thresholds(),
    limit: int = DRILL_LIMIT,
) -> list[dict[str, Any]]:
    """The calls behind a hotline-wide call figure (``CALL_FIGURES``) of [start, end): PBX,
    uniqueid, linkedid, arrival, wait, and the first leg's caller number and queue, oldest
    first. ``excluded`` lists the calls exclusion windows left out."""
    return await call_keys_in(connection, ((start, end),), figure, flt, thresholds, limit)


async def call_keys_in(
    connection: AsyncConnection,
    runs: Sequence[Run],
    figure: str,
    flt: ReportFilter,
    thresholds: Thresholds,
    limit: int,
) -> list[dict[str, Any]]:
    """``call_keys`` of the calls that arrived in ``runs``."""
    if figure == "excluded":
        # Only the windows' spans can hold an excluded call: read those, not the period.
        runs = await _window_runs(connection, runs)
        if not runs:
            return []
    per_call = _per_call(runs, flt, connection.dialect.name, *_narrowed(figure))
    c = per_call.c
    if figure == "excluded":
        where: ColumnElement[bool] = _in_window(c.at)
    else:
        where = and_(~_in_window(c.at), _call_figure(per_call, figure, thresholds))
    first = (
        select(calls.c.caller_num, calls.c.queue)
        .where(calls.c.pbx == c.pbx, calls.c.uniqueid == c.uniqueid)
        .order_by(calls.c.leg, calls.c.id)
        .limit(1)
    )
    query = (
        select(
            c.pbx,
            c.uniqueid,
            c.linkedid,
            c.at,
            c.wait,
            c.answered,
            c.queue_legs,
            c.outcome_code,
            c.survey,
            first.with_only_columns(calls.c.caller_num).scalar_subquery().label("caller_num"),
            first.with_only_columns(calls.c.queue).scalar_subquery().label("queue"),
        )
        .where(where)
        .order_by(c.at, c.pbx, c.uniqueid)
        .limit(limit)
    )
    result = []
    for row in await connection.execute(query):
        outcome = (
            "answered" if row.answered else
            _CODE_OUTCOME.get(int(row.outcome_code or 0), "ivr_hangup")
            if row.queue_legs else "ivr_hangup"
        )  # fmt: skip
        result.append({
            "pbx": row.pbx, "uniqueid": row.uniqueid, "linkedid": row.linkedid,
            "at": _aware(row.at).isoformat(), "caller_num": row.caller_num,
            "queue": row.queue, "outcome": outcome,
            "wait_s": None if not row.queue_legs else int(row.wait), "survey": row.survey,
        })  # fmt: skip
    return result


def _cases_opened(start: datetime, end: datetime, flt: ReportFilter) -> list[Any]:
    _need_aware(start, end)
    return [tickets.c.created_at >= start, tickets.c.created_at < end, *_case_conditions(flt)]


async def case_counts(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    by: str,
    flt: ReportFilter = ReportFilter(),
) -> dict[str, int]:
    """Cases opened in [start, end) per category, area (district) or unit (the first unit
    dispatched to): the hot topics' counts. Cases merged into another (重复来电) count too: each
    is a citizen who called about it. A missing area or unit is keyed ``""``."""
    return await case_counts_where(connection, _cases_opened(start, end, flt), by)


async def case_counts_where(
    connection: AsyncConnection, opened: Sequence[Any], by: str
) -> dict[str, int]:
    """case_counts of the cases ``opened`` (conditions on ``tickets``) selects: the rollups
    read the hours they cannot serve so, several runs of hours in one query."""
    column = CASE_DIMENSIONS[by]
    query = select(column.label("key"), func.count().label("cases")).where(*opened).group_by(column)
    out: dict[str, int] = {}
    for row in await connection.execute(query):  # NULL and "" are both keyed "": summed
        out[row.key or ""] = out.get(row.key or "", 0) + int(row.cases)
    return out


async def case_histories(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    flt: ReportFilter = ReportFilter(),
) -> list[dict[str, Any]]:
    """The cases opened in [start, end) with their histories (oldest event first): id, number,
    category, area, first unit, and ``events`` as ticketing.workflow.case_kpis reads them."""
    opened = (
        select(tickets.c.id, tickets.c.number, tickets.c.category, tickets.c.district,
               tickets.c.first_unit, tickets.c.created_at)
        .where(*_cases_opened(start, end, flt))
        .order_by(tickets.c.created_at, tickets.c.id)  # as the drill-downs list them
    )  # fmt: skip
    cases: dict[int, dict[str, Any]] = {}
    for case_row in await connection.execute(opened):
        cases[int(case_row.id)] = {
            "id": int(case_row.id), "number": case_row.number, "category": case_row.category,
            "area": case_row.district, "first_unit": case_row.first_unit,
            "created_at": _aware(case_row.created_at), "events": [],
        }  # fmt: skip
    if not cases:
        return []
    events = (
        select(ticket_events.c.ticket_id, ticket_events.c.kind, ticket_events.c.at,
               ticket_events.c.data)
        .where(ticket_events.c.ticket_id.in_(
            select(tickets.c.id).where(*_cases_opened(start, end, flt))
        ))
        .order_by(ticket_events.c.ticket_id, ticket_events.c.id)
    )  # fmt: skip
    for row in await connection.execute(events):
        cases[int(row.ticket_id)]["events"].append(
            {"kind": row.kind, "at": _aware(row.at), "data": row.data}
        )
    return list(cases.values())


async def case_keys(connection: AsyncConnection, ids: list[int]) -> list[dict[str, Any]]:
    """The list a case drill-down shows: number, category, area, unit, status, opened at."""
    if not ids:
        return []
    query = (
        select(tickets.c.id, tickets.c.number, tickets.c.category, tickets.c.district,
               tickets.c.first_unit, tickets.c.handling_unit, tickets.c.status,
               tickets.c.created_at, tickets.c.caller_number)
        .where(tickets.c.id.in_(ids))
        .order_by(tickets.c.created_at, tickets.c.id)  # by opening, as the lists are cut
    )  # fmt: skip
    return [
        {"id": int(r.id), "number": r.number, "category": r.category, "area": r.district,
         "unit": r.handling_unit or r.first_unit, "status": r.status,
         "created_at": _aware(r.created_at).isoformat(), "caller_num": r.caller_number}
        for r in await connection.execute(query)
    ]  # fmt: skip


async def qa_agent_scores(
    connection: AsyncConnection, start: datetime, end: datetime
) -> dict[str, dict[str, Any]]:
    """Per agent, the QA scores of their calls in [start, end): how many and their sum (the
    monthly 100-point score is their mean: ticketing.qa.QaDesk.monthly)."""
    _need_aware(start, end)
    query = (
        select(qa_scores.c.agent, func.count().label("calls"), func.sum(qa_scores.c.total))
        .where(qa_scores.c.call_at >= start, qa_scores.c.call_at < end)
        .group_by(qa_scores.c.agent)
    )
    return {
        row.agent: {"calls": int(row[1]), "total": int(row[2] or 0)}
        for row in await connection.execute(query)
    }


def _numbers(row: Mapping[str, Any]) -> dict[str, Any]:
    """SQL sums come back as Decimal or None on some dialects: plain ints and floats."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value is None and key not in ("key", "hour", "longest_wait"):
            value = 0
        elif value is not None and not isinstance(value, str | datetime | bool):
            number = float(value)
            value = int(number) if number.is_integer() else number
        out[key] = value
    return out


# ---- case KPIs in SQL (ticketing.workflow.case_kpis's figures, counted by the database) -----

_e = ticket_events.alias("e")  # the event counted
_d = ticket_events.alias("d")  # an earlier event of the same case
CASE_KEYS: Final = ("unit", "category", "area", "total")
RATED_ANSWERS: Final = ("satisfied", "basically_satisfied", "dissatisfied")
SATISFIED_ANSWERS: Final = ("satisfied", "basically_satisfied")
# The counts case_event_counts and case_callback_counts give every key.
EVENT_COUNTS: Final = ("dispatched", "answered", "on_time", "extended", "redone", "returned",
                       "late_returns", "rated", "satisfied", "top")  # fmt: skip
CALLBACK_COUNTS: Final = ("done", "called_back", "rated", "satisfied", "process_rated",
                          "process_satisfied")  # fmt: skip


def _field(table: Any, *path: str) -> Any:
    """A text inside an event's JSON ``data`` (json_extract / ->>), NULL when absent."""
    return table.c.data[path if len(path) > 1 else path[0]].as_string()


def _holder() -> Any:
    """The unit holding the case when ``_e`` happened: the latest earlier dispatch, unless a
    later step sent the case back to be dispatched (case_kpis.events_unit)."""
    return (
        select(case((_d.c.kind == "dispatch", _field(_d, "fields", "unit")), else_=None))
        .where(
            _d.c.ticket_id == _e.c.ticket_id,
            _d.c.id < _e.c.id,
            or_(_d.c.kind == "dispatch", _field(_d, "to") == "to_dispatch"),
        )
        .order_by(_d.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _timer_in_force(name: str) -> Any:
    """A timer (due_at, return_until) as the latest event up to ``_e`` set it (ISO text)."""
    value = _field(_d, "timers", name)
    return (
        select(value)
        .where(_d.c.ticket_id == _e.c.ticket_id, _d.c.id <= _e.c.id, value.is_not(None))
        .order_by(_d.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _not_after(dialect: str, at: Any, iso: Any) -> Any:
    """``at`` (a stored time) ≤ ``iso`` (an ISO text with its offset), on either dialect."""
    if dialect == "postgresql":
        return at <= cast(iso, DateTime(timezone=True))
    return func.julianday(at) <= func.julianday(iso)


def _group_key(by: str, unit: Any) -> Any:
    return {"unit": unit, "category": tickets.c.category, "area": tickets.c.district,
            "total": literal("")}[by]  # fmt: skip


def _events(
    opened: Sequence[Any], kind: str, by: str, unit: Any, *columns: Any
) -> Any:  # fmt: skip
    """One row per event of ``kind`` of the cases ``opened`` selects: its group key (the unit it
    counts for, or the case's category or area), its case, ``columns``."""
    return (
        select(_group_key(by, unit).label("key"), _e.c.ticket_id, *columns)
        .select_from(_e.join(tickets, tickets.c.id == _e.c.ticket_id))
        .where(*opened, _e.c.kind == kind, unit.is_not(None))
        .subquery(f"{kind}_events")
    )


def _on_time(dialect: str) -> Any:
    """An answer (``_e``) given by the deadline in force then (none in force: on time)."""
    due = _timer_in_force("due_at")
    return or_(due.is_(None), _not_after(dialect, _e.c.at, due))


def _late_return(dialect: str) -> Any:
    """A return (``_e``) asked after the return window in force then."""
    until = _timer_in_force("return_until")
    return and_(until.is_not(None), ~_not_after(dialect, _e.c.at, until))


def _has(*conditions: Any) -> Any:
    """The case (``tickets``) has an event ``_e`` meeting ``conditions``."""
    return exists().where(_e.c.ticket_id == tickets.c.id, *conditions)


def _finishing() -> tuple[Any, Any]:
    """The events (``_e``) that make a case done: a unit's answer, a step to closed."""
    return (
        and_(_e.c.kind == "answer", _field(_e, "unit").is_not(None)),
        and_(_field(_e, "to") == "closed",
             _e.c.kind.not_in(("dispatch", "approve_extension", "redo", "return", "call_back"))),
    )  # fmt: skip


def _done() -> Any:
    """The case was answered by a unit or closed (case_kpis' answered_or_closed)."""
    answered, closed = _finishing()
    return or_(_has(answered), _has(closed))


def _called() -> Any:
    return _has(_e.c.kind == "call_back")


async def case_event_counts(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    by: str,
    flt: ReportFilter = ReportFilter(),
) -> dict[str, dict[str, int]]:
    """The counts behind the case KPIs of the cases opened in [start, end), per ``by``: the
    unit they count for (``unit``), the case's category or area, or all (``total``, key "").
    Per key: dispatched, answered, on_time (answered by the deadline in force then), extended
    (cases given an extension while the unit held them), redone, returned, late_returns, and
    the call-backs rated, satisfied, top (满意) — by the unit holding the case then. A key is
    there when an event counts for it; it carries every count (EVENT_COUNTS, 0 when none)."""
    return await case_event_counts_where(connection, _cases_opened(start, end, flt), by)


async def case_event_counts_where(
    connection: AsyncConnection, opened: Sequence[Any], by: str
) -> dict[str, dict[str, int]]:
    """case_event_counts of the cases ``opened`` (conditions on ``tickets``) selects."""
    if by not in CASE_KEYS:
        raise ValueError(f"by is one of {', '.join(CASE_KEYS)}")
    dialect = connection.dialect.name
    out: dict[str, dict[str, int]] = {}

    def add(rows: Any) -> None:
        for row in rows:
            counts = out.setdefault(row.key or "", dict.fromkeys(EVENT_COUNTS, 0))
            for name, value in row._mapping.items():
                if name != "key":
                    counts[name] += int(value or 0)

    dispatch = _events(opened, "dispatch", by, _field(_e, "fields", "unit"))
    add(await connection.execute(
        select(dispatch.c.key, func.count().label("dispatched")).group_by(dispatch.c.key)
    ))  # fmt: skip
    on_time = case((_on_time(dialect), 1), else_=0)
    answer = _events(opened, "answer", by, _field(_e, "unit"), on_time.label("on_time"))
    add(await connection.execute(
        select(answer.c.key, func.count().label("answered"),
               func.sum(answer.c.on_time).label("on_time")).group_by(answer.c.key)
    ))  # fmt: skip
    holder = _holder()
    extended = _events(opened, "approve_extension", by, holder, holder.label("holder"))
    # A case counts once per unit however many extensions that unit was given.
    distinct = select(extended.c.key, extended.c.ticket_id, extended.c.holder).distinct()
    per_case = distinct.subquery("extended_cases")
    add(await connection.execute(
        select(per_case.c.key, func.count().label("extended")).group_by(per_case.c.key)
    ))  # fmt: skip
    redo = _events(opened, "redo", by, _holder())
    add(await connection.execute(
        select(redo.c.key, func.count().label("redone")).group_by(redo.c.key)
    ))  # fmt: skip
    late = case((_late_return(dialect), 1), else_=0)
    returned = _events(opened, "return", by, _field(_e, "unit"), late.label("late"))
    add(await connection.execute(
        select(returned.c.key, func.count().label("returned"),
               func.sum(returned.c.late).label("late_returns")).group_by(returned.c.key)
    ))  # fmt: skip
    answer_of = _field(_e, "fields", "satisfaction")
    back = _events(opened, "call_back", by, _holder(), answer_of.label("answer"))
    add(await connection.execute(
        select(back.c.key,
               _count(back.c.answer.in_(RATED_ANSWERS)).label("rated"),
               _count(back.c.answer.in_(SATISFIED_ANSWERS)).label("satisfied"),
               _count(back.c.answer == "satisfied").label("top"))
        .group_by(back.c.key)
    ))  # fmt: skip
    return out


async def case_callback_counts(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    by: str,
    flt: ReportFilter = ReportFilter(),
) -> dict[str, dict[str, int]]:
    """Call-back coverage and satisfaction of the cases opened in [start, end), per category,
    area or all (``total``): cases answered or closed (``done``), of them called back
    (``called_back``), and the call-backs' ratings, result and process apart. A key is there
    when a case was opened for it; it carries every count (CALLBACK_COUNTS, 0 when none)."""
    return await case_callback_counts_where(connection, _cases_opened(start, end, flt), by)


async def case_callback_counts_where(
    connection: AsyncConnection, opened: Sequence[Any], by: str
) -> dict[str, dict[str, int]]:
    """case_callback_counts of the cases ``opened`` (conditions on ``tickets``) selects."""
    if by not in ("category", "area", "total"):
        raise ValueError("by is category, area or total")
    key = _group_key(by, None)
    done = _done()
    cases = (
        select(key.label("key"), _count(done).label("done"),
               _count(and_(done, _called())).label("called_back"))
        .where(*opened)
        .group_by(key)
    )  # fmt: skip
    out: dict[str, dict[str, int]] = {}
    for row in await connection.execute(cases):
        counts = out.setdefault(row.key or "", dict.fromkeys(CALLBACK_COUNTS, 0))
        counts["done"] += int(row.done or 0)
        counts["called_back"] += int(row.called_back or 0)
    result, process = (
        _field(_e, "fields", "satisfaction"),
        _field(_e, "fields", "process_satisfaction"),
    )
    ratings = (
        select(
            key.label("key"),
            _count(result.in_(RATED_ANSWERS)).label("rated"),
            _count(result.in_(SATISFIED_ANSWERS)).label("satisfied"),
            _count(process.in_(RATED_ANSWERS)).label("process_rated"),
            _count(process.in_(SATISFIED_ANSWERS)).label("process_satisfied"),
        )
        .select_from(_e.join(tickets, tickets.c.id == _e.c.ticket_id))
        .where(*opened, _e.c.kind == "call_back")
        .group_by(key)
    )
    for row in await connection.execute(ratings):
        counts = out.setdefault(row.key or "", dict.fromkeys(CALLBACK_COUNTS, 0))
        for name in ("rated", "satisfied", "process_rated", "process_satisfied"):
            counts[name] += int(getattr(row, name) or 0)
    return out


# The case drill-downs' event kinds; each lists the cases in the order they were opened
# (created_at, id), so the first ``limit`` of a period are the first of its hours: the rollups
# bound the hours a list has to read by their counts (ticketing/rollup/case_reports.py).
CASE_EVENT_KINDS: Final = {"overdue": "answer", "extended": "approve_extension",
                           "redone": "redo", "returned": "return",
                           "dissatisfied": "call_back"}  # fmt: skip


def _listed(opened: Sequence[Any], conditions: Sequence[Any], limit: int) -> Any:
    """The first ``limit`` cases ``opened`` selects, by opening, with an event ``_e`` meeting
    ``conditions``."""
    return (
        select(tickets.c.id)
        .where(*opened, _has(*conditions))
        .order_by(tickets.c.created_at, tickets.c.id)
        .limit(limit)
    )


async def case_event_ids(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    what: str,
    flt: ReportFilter = ReportFilter(),
    unit: str | None = None,
    limit: int = DRILL_LIMIT,
) -> list[int]:
    """The cases behind a case figure the files list (the ones to chase): ``overdue`` (an
    answer after the deadline in force), ``extended``, ``redone``, ``returned`` (each by a
    unit: as case_event_counts counts them), ``dissatisfied`` (a call-back rated so); of one
    unit's figures with ``unit``. The first ``limit`` cases by opening (created_at, id)."""
    return await case_event_ids_where(connection, _cases_opened(start, end, flt), what, unit, limit)


async def case_event_ids_where(
    connection: AsyncConnection, opened: Sequence[Any], what: str, unit: str | None, limit: int
) -> list[int]:
    """case_event_ids of the cases ``opened`` (conditions on ``tickets``) selects."""
    dialect = connection.dialect.name
    if what not in CASE_EVENT_KINDS:
        raise ValueError(f"what is one of {', '.join(CASE_EVENT_KINDS)}")
    owner = _field(_e, "unit") if what in ("overdue", "returned") else _holder()
    where: list[Any] = [_e.c.kind == CASE_EVENT_KINDS[what]]
    if what == "overdue":
        where.append(~_on_time(dialect))
    elif what == "dissatisfied":  # a hotline figure: whoever held the case
        where.append(_field(_e, "fields", "satisfaction") == "dissatisfied")
    if unit is not None:
        where.append(owner == unit)
    elif what != "dissatisfied":  # a unit's figure: only the events counted for a unit
        where.append(owner.is_not(None))
    query = _listed(opened, where, limit)
    return [int(row.id) for row in await connection.execute(query)]


def _case_selection(figure: str, part: str, dialect: str) -> tuple[str | None, Any, Any] | None:
    """(event kind, the unit it counts for, a condition) of the events that put a case in a
    case figure's numerator, denominator or shortfall; None when not counted by events."""
    on_time = _on_time(dialect)
    answered, dispatched = _field(_e, "unit"), _field(_e, "fields", "unit")
    result = _field(_e, "fields", "satisfaction")
    process = _field(_e, "fields", "process_satisfaction")
    table: dict[tuple[str, str], tuple[str | None, Any, Any]] = {
        ("dispatched", "numerator"): ("dispatch", dispatched, None),
        ("on_time_rate", "numerator"): ("answer", answered, on_time),
        ("on_time_rate", "denominator"): ("answer", answered, None),
        ("on_time_rate", "shortfall"): ("answer", answered, ~on_time),
        ("extension_rate", "numerator"): ("approve_extension", _holder(), None),
        ("extension_rate", "denominator"): ("dispatch", dispatched, None),
        ("redo_rate", "numerator"): ("redo", _holder(), None),
        ("redo_rate", "denominator"): ("answer", answered, None),
        ("return_rate", "numerator"): ("return", answered, None),
        ("return_rate", "denominator"): ("dispatch", dispatched, None),
        ("satisfaction", "numerator"): ("call_back", None, result.in_(SATISFIED_ANSWERS)),
        ("satisfaction", "denominator"): ("call_back", None, result.in_(RATED_ANSWERS)),
        ("satisfaction", "shortfall"): ("call_back", None, result == "dissatisfied"),
        ("process_satisfaction", "numerator"): (
            "call_back", None, process.in_(SATISFIED_ANSWERS)),
        ("process_satisfaction", "denominator"): ("call_back", None, process.in_(RATED_ANSWERS)),
        ("process_satisfaction", "shortfall"): ("call_back", None, process == "dissatisfied"),
    }  # fmt: skip
    return table.get((figure, part))


CASE_ID_FIGURES: Final = ("cases", "callback_coverage")


async def case_ids(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    figure: str,
    part: str = "numerator",
    flt: ReportFilter = ReportFilter(),
    holder: str | None = None,
    limit: int = DRILL_LIMIT,
) -> list[int] | None:
    """The ids of the cases behind a case figure's numerator, denominator or shortfall (in the
    denominator, not the numerator), of one unit's figure with ``holder``, as
    hotline.reports.build.cases_behind finds them in the histories; None for a figure and
    part this query does not know (the caller falls back to the histories). The first
    ``limit`` cases by opening (created_at, id)."""
    return await case_ids_where(
        connection, _cases_opened(start, end, flt), figure, part, holder, limit
    )


async def case_ids_where(
    connection: AsyncConnection,
    opened: Sequence[Any],
    figure: str,
    part: str,
    holder: str | None,
    limit: int,
) -> list[int] | None:
    """case_ids of the cases ``opened`` (conditions on ``tickets``) selects."""
    if figure in CASE_ID_FIGURES:
        if holder is not None:  # a unit's cases: from the histories; its coverage: none
            return None if figure == "cases" else []
        if figure == "cases" and part == "shortfall":
            return []  # a count has no shortfall
        where: list[Any] = list(opened)
        if figure == "callback_coverage":
            done, called = _done(), _called()
            where.append({"numerator": and_(done, called), "denominator": done,
                          "shortfall": and_(done, ~called)}[part])  # fmt: skip
        query = (
            select(tickets.c.id)
            .where(*where)
            .order_by(tickets.c.created_at, tickets.c.id)
            .limit(limit)
        )
        return [int(row.id) for row in await connection.execute(query)]
    selection = _case_selection(figure, part, connection.dialect.name)
    if selection is None:
        return None
    kind, owner, condition = selection
    events: list[Any] = [_e.c.kind == kind]
    if condition is not None:
        events.append(condition)
    if owner is not None:
        events.append(owner.is_not(None) if holder is None else owner == holder)
    elif holder is not None:
        return []
    query = _listed(opened, events, limit)
    return [int(row.id) for row in await connection.execute(query)]
