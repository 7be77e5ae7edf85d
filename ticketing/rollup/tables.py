"""The rollup tables (migration 0017_rollup): counts per hour or day and their bookkeeping.

Key columns are never NULL: a call without a case, a case without an area or unit, a leg no
agent answered, are keyed ``""`` (the raw queries key them so too). ``queue`` ``""`` in
``rollup_calls`` and ``rollup_call_hours`` is a call over every queue it was offered to (a
call counts once); a queue's name is the call over that queue's legs only, as a report
filtered on the queue counts it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    literal_column,
    or_,
)

from ticketing.models import Base, JsonDocument, UTCDateTime

if TYPE_CHECKING:  # ticketing.models imports this module: reports would import it back
    from ticketing.reports import ReportFilter

SPANS: Final = ("hour", "day")

# acd.kpi.Tally's counts and sums over calls (ticketing.reports._call_aggregates).
CALL_COUNTS: Final = (
    "calls", "offered", "answered", "answered_within", "abandoned", "short_abandons",
    "timeouts", "join_rejections", "ivr_hangups", "satisfied", "basically_satisfied",
    "dissatisfied", "survey_none", "deflected", "transfers", "handlings", "ring_no_answer",
    "answered_wait_s", "talk_s",
)  # fmt: skip
# The same over queue legs (ticketing.reports._leg_tally_columns).
LEG_COUNTS: Final = (
    "legs", "offered", "answered", "answered_within", "abandoned", "short_abandons",
    "timeouts", "join_rejections", "ivr_hangups", "transfers", "handlings", "ring_no_answer",
    "satisfied", "basically_satisfied", "dissatisfied", "survey_none", "deflected",
    "answered_wait_s", "talk_s",
)  # fmt: skip
# Counted per case (unit ""): ticketing.reports.case_counts and case_callback_counts; counted
# per unit holding the case (unit = that unit): case_event_counts.
CASE_COUNTS: Final = (
    "cases", "done", "called_back", "cb_rated", "cb_satisfied", "cb_process_rated",
    "cb_process_satisfied", "dispatched", "answered", "on_time", "extended", "redone",
    "returned", "late_returns", "rated", "satisfied", "top",
)  # fmt: skip
CASE_KEYS: Final = ("category", "area", "first_unit", "handling_unit")


def _counts(names: tuple[str, ...]) -> list[Column[int]]:
    return [Column(name, BigInteger, nullable=False, default=0) for name in names]


def _key(name: str, length: int) -> Column[str]:
    return Column(name, String(length), nullable=False, default="")


def _case_keys() -> list[Column[str]]:
    return [_key("category", 32), _key("area", 64), _key("first_unit", 128),
            _key("handling_unit", 128)]  # fmt: skip


metadata = Base.metadata

rollup_calls = Table(
    "rollup_calls",
    metadata,
    Column("span", String(4), nullable=False),
    Column("bucket", UTCDateTime, nullable=False),
    _key("queue", 80),
    *_case_keys(),
    *_counts(CALL_COUNTS),
    Column("longest_wait", Integer, nullable=True),
    PrimaryKeyConstraint("span", "bucket", "queue", *CASE_KEYS),
)

# Per hour and queue only: a month's volume per hour reads 720 rows, not every cell.
rollup_call_hours = Table(
    "rollup_call_hours",
    metadata,
    Column("hour", UTCDateTime, nullable=False),
    _key("queue", 80),
    *_counts(CALL_COUNTS),
    Column("longest_wait", Integer, nullable=True),
    PrimaryKeyConstraint("hour", "queue"),
)

# Per hour, queue and one case key: ``dim`` category, area or unit (a unit the case was first
# dispatched to or is held by; a case both first sent to and held by one unit counts once).
# rollup_calls holds ~1.6 hour rows per call (its keys are nearly unique per call within an
# hour), so a month's call figures filtered on one area read ~1.4 million rows there on a
# 10-million-call year; here they read ≤ 720 per queue.
rollup_call_hour_keys = Table(
    "rollup_call_hour_keys",
    metadata,
    Column("hour", UTCDateTime, nullable=False),
    _key("queue", 80),
    Column("dim", String(16), nullable=False),
    _key("value", 128),
    *_counts(CALL_COUNTS),
    Column("longest_wait", Integer, nullable=True),
    PrimaryKeyConstraint("queue", "dim", "value", "hour"),
)

rollup_legs = Table(
    "rollup_legs",
    metadata,
    Column("span", String(4), nullable=False),
    Column("bucket", UTCDateTime, nullable=False),
    _key("queue", 80),
    *_case_keys(),
    *_counts(LEG_COUNTS),
    Column("longest_wait", Integer, nullable=True),
    PrimaryKeyConstraint("span", "bucket", "queue", *CASE_KEYS),
)

# Answered legs per agent as the PBX named them; the report names them at read time through
# the small agents table (ticketing.qa._agent_key), so a later user binding renames history
# the way the raw query does.
rollup_agent_legs = Table(
    "rollup_agent_legs",
    metadata,
    Column("span", String(4), nullable=False),
    Column("bucket", UTCDateTime, nullable=False),
    _key("queue", 80),
    _key("pbx", 32),
    _key("member_interface", 255),
    _key("answered_by", 128),
    *_counts(LEG_COUNTS),
    Column("longest_wait", Integer, nullable=True),
    PrimaryKeyConstraint("span", "bucket", "queue", "pbx", "member_interface", "answered_by"),
)

rollup_cases = Table(
    "rollup_cases",
    metadata,
    Column("span", String(4), nullable=False),
    Column("bucket", UTCDateTime, nullable=False),
    *_case_keys(),
    _key("unit", 128),
    *_counts(CASE_COUNTS),
    PrimaryKeyConstraint("span", "bucket", *CASE_KEYS, "unit"),
)

# UTC hours a write touched since their rollup rows were built (the triggers of 0017_rollup).
rollup_dirty = Table(
    "rollup_dirty",
    metadata,
    Column("hour", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("hour"),
)

# The hours and days whose rows are built (rows of a span and bucket not listed here are
# ignored: a report reads those raw).
rollup_built = Table(
    "rollup_built",
    metadata,
    Column("span", String(4), nullable=False),
    Column("bucket", UTCDateTime, nullable=False),
    Column("built_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("span", "bucket"),
)

# What the built rows assumed: the KPI thresholds, the exclusion windows.
rollup_state = Table(
    "rollup_state",
    metadata,
    Column("name", String(32), nullable=False),
    Column("value", JsonDocument, nullable=False),
    PrimaryKeyConstraint("name"),
)

FACT_TABLES: Final = (rollup_calls, rollup_legs, rollup_agent_legs, rollup_cases)

# The drill-down lists of the figures someone chases, kept per case or call so a month's
# first 5,000 are an index range, not a scan of every event in the hours holding them
# (bench/reports.py: a month's overdue cases took 1.5 s to find on a 10-million-call year).
# Rebuilt with the hour they belong to (``hour``: the case's opening hour, the call's arrival
# hour), like every rollup row.

# One row per case and chase figure (overdue, extended, redone, returned, dissatisfied) and
# the unit it counts for ("" when none), with the case's keys for a report's filter.
rollup_case_marks = Table(
    "rollup_case_marks",
    metadata,
    Column("hour", UTCDateTime, nullable=False),
    Column("figure", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("ticket_id", BigInteger, nullable=False),
    _key("unit", 128),
    *_case_keys(),
    PrimaryKeyConstraint("figure", "created_at", "ticket_id", "unit"),
)

# One row per call (queue "" = over every queue, else that queue's share) and call figure it
# counts in among the rarer ones a drill-down lists, with what call_keys shows of it.
rollup_call_marks = Table(
    "rollup_call_marks",
    metadata,
    Column("hour", UTCDateTime, nullable=False),
    _key("queue", 80),
    Column("figure", String(24), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    _key("pbx", 32),
    _key("uniqueid", 64),
    Column("linkedid", String(64), nullable=True),
    Column("wait_s", Integer, nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("survey", String(32), nullable=True),
    Column("caller_num", String(64), nullable=True),
    Column("first_queue", String(80), nullable=True),
    *_case_keys(),
    PrimaryKeyConstraint("queue", "figure", "at", "pbx", "uniqueid"),
)

MARK_TABLES: Final = (rollup_case_marks, rollup_call_marks)
Index("ix_rollup_case_marks_hour", rollup_case_marks.c.hour)
Index("ix_rollup_call_marks_hour", rollup_call_marks.c.hour)


def hour_bucket(dialect: str, at: Any) -> Any:
    """The UTC hour of ``at`` as a bucket or hour column stores it, in the triggers' form
    (migration 0017_rollup): on SQLite the naive-UTC text UTCDateTime binds."""
    if dialect == "postgresql":
        return func.date_trunc(literal_column("'hour'"), at, literal_column("'UTC'"))
    return func.strftime(literal_column("'%Y-%m-%d %H:00:00.000000'"), at)


def case_filter(table: Any, flt: ReportFilter) -> list[ColumnElement[bool]]:
    """ticketing.reports._case_conditions on a rollup table's case keys (category, area,
    first_unit, handling_unit)."""
    where: list[ColumnElement[bool]] = []
    if flt.category is not None:
        where.append(table.c.category == flt.category)
    if flt.area is not None:
        where.append(table.c.area == flt.area)
    if flt.unit is not None:
        where.append(or_(table.c.first_unit == flt.unit, table.c.handling_unit == flt.unit))
    return where
