"""The report queries under test, run through the project's own code, and their plans.

Each ``ReportQuery`` calls the store function a page or the CLI calls (so the SQL measured is
the SQL the product sends, not a copy of it). While it runs, every statement it sends is
captured from the engine (``before_cursor_execute``); each is then run again under
``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`` with the same parameters, which gives its server
time, its plan and the tables it read by sequential scan.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.kpi import KpiParams, compute
from ticketing.rollup import reports
from ticketing.store import TicketStore

# Tables that grow with the calls: a report must never read one of them whole.
BIG_TABLES = frozenset(
    {"call_records", "tickets", "ticket_events", "survey_results", "callbacks", "qa_scores"}
)
ZONE = dt.timezone(dt.timedelta(hours=8))
SLOW_MS = 2000.0
ANALYZE_BELOW_MS = 15_000.0  # Asia/Shanghai has had no DST since 1991


@dataclass(frozen=True, slots=True)
class Span:
    """The periods the queries are asked about: a busy day and a whole month."""

    day: dt.datetime
    month: dt.datetime
    month_end: dt.datetime
    caller: str  # a frequent caller's number (screen pop)

    @property
    def day_end(self) -> dt.datetime:
        return self.day + dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ReportQuery:
    name: str
    where: str  # the page / command that runs it
    run: Callable[[TicketStore, Span], Awaitable[Any]]


async def _calls_and_kpis(
    store: TicketStore, start: dt.datetime, end: dt.datetime, queue: str | None = None
) -> Any:
    """/api/kpi and `hotline kpi`: the span's call records, then acd.kpi.compute over them."""
    records = await store.calls_between(start, end, queue)
    exclusions = await store.exclusions_between(start, end)
    return compute(records, KpiParams(), exclusions)


def _report(
    query: Callable[..., Awaitable[Any]], *args: Any, day: bool = False, **options: Any
) -> Callable[[TicketStore, Span], Awaitable[Any]]:
    """A ticketing.reports query over the span's month (or its busy day)."""

    async def run(store: TicketStore, span: Span) -> Any:
        start, end = (span.day, span.day_end) if day else (span.month, span.month_end)
        async with store.engine.connect() as connection:
            return await query(connection, start, end, *args, **options)

    return run


async def _case_keys(store: TicketStore, span: Span) -> Any:
    """The drill-down list of cases (the ids of a month's overdue cases, first 5,000)."""
    async with store.engine.connect() as connection:
        ids = await reports.case_event_ids(connection, span.month, span.month_end, "overdue")
        return await reports.case_keys(connection, ids)


BY_AREA = reports.ReportFilter(area="东城区")
BY_CATEGORY = reports.ReportFilter(category="complaint")
BY_UNIT = reports.ReportFilter(unit="市供电公司")
# ticketing/reports.py: what the daily log, weekly report and monthly briefing are built from
# (hotline/reports/build.py runs them in this order), plus the drill-downs.
REPORT_QUERIES: tuple[ReportQuery, ...] = (
    ReportQuery("call_hours, day", "daily log", _report(reports.call_hours, day=True)),
    ReportQuery("call_hours, month", "monthly briefing", _report(reports.call_hours)),
    ReportQuery("call_hours, month, one area", "briefing ?area=",
                _report(reports.call_hours, BY_AREA)),
    ReportQuery("call_hours, month, one category", "briefing ?category=",
                _report(reports.call_hours, BY_CATEGORY)),
    ReportQuery("excluded_calls, month", "monthly briefing", _report(reports.excluded_calls)),
    ReportQuery("queue_legs, month", "monthly briefing", _report(reports.queue_legs)),
    ReportQuery("agent_legs, month", "monthly briefing", _report(reports.agent_legs)),
    *(
        ReportQuery(f"case_event_counts by {by}, month", "monthly briefing",
                    _report(reports.case_event_counts, by))
        for by in reports.CASE_KEYS
    ),
    ReportQuery("case_event_counts by unit, month, one unit", "briefing ?unit=",
                _report(reports.case_event_counts, "unit", BY_UNIT)),
    *(
        ReportQuery(f"case_callback_counts by {by}, month", "monthly briefing",
                    _report(reports.case_callback_counts, by))
        for by in ("category", "area", "total")
    ),
    ReportQuery("case_counts by category, month", "hot topics",
                _report(reports.case_counts, "category")),
    ReportQuery("case_counts by area, month", "hot topics", _report(reports.case_counts, "area")),
    ReportQuery("qa_agent_scores, month", "agent scores", _report(reports.qa_agent_scores)),
    ReportQuery("call_keys abandoned, month", "drill-down",
                _report(reports.call_keys, "abandoned")),
    ReportQuery("case_event_ids overdue + case_keys, month", "drill-down", _case_keys),
    ReportQuery("case_histories, day", "case drill-down",
                _report(reports.case_histories, day=True)),
)  # fmt: skip

# The KPI pages that were on main before the report module (/api/kpi, /api/case-kpis).
KPI_QUERIES: tuple[ReportQuery, ...] = (
    ReportQuery("call KPIs, one day", "/api/kpi, hotline kpi, live KPIs' restart",
                lambda s, p: _calls_and_kpis(s, p.day, p.day_end)),
    ReportQuery("call KPIs, one day, one queue", "/api/kpi?queue=",
                lambda s, p: _calls_and_kpis(s, p.day, p.day_end, "hotline-complaint")),
    ReportQuery("call KPIs, one month", "/api/kpi, /api/kpi/export",
                lambda s, p: _calls_and_kpis(s, p.month, p.month_end)),
    ReportQuery("case KPIs, one day", "/api/case-kpis",
                lambda s, p: s.case_kpis(p.day, p.day_end)),
    ReportQuery("case KPIs, one month", "/api/case-kpis",
                lambda s, p: s.case_kpis(p.month, p.month_end)),
    ReportQuery("exclusion windows, one month", "/api/kpi",
                lambda s, p: s.exclusions_between(p.month, p.month_end)),
    ReportQuery("caller's cases of 30 days", "screen pop",
                lambda s, p: s.recent_tickets_for_caller(p.caller, now=p.month_end)),
)  # fmt: skip
QUERIES: tuple[ReportQuery, ...] = REPORT_QUERIES + KPI_QUERIES


@dataclass(slots=True)
class Statement:
    sql: str
    parameters: Any
    plan: dict[str, Any] = field(default_factory=dict)
    server_ms: float = 0.0

    def seq_scans(self) -> list[str]:
        """The big tables this statement reads by sequential scan."""
        return sorted({n["Relation Name"] for n in nodes(self.plan)
                       if n.get("Node Type") == "Seq Scan"
                       and n.get("Relation Name") in BIG_TABLES})  # fmt: skip

    def summary(self) -> str:
        """One line: each scan with its table and index, plus sorts, aggregates and JIT."""
        parts = []
        for node in nodes(self.plan):
            kind = node.get("Node Type", "?")
            if "Relation Name" in node:
                index = f" via {node['Index Name']}" if "Index Name" in node else ""
                parts.append(f"{kind} {node['Relation Name']}{index}")
            elif kind in ("Sort", "Aggregate", "HashAggregate", "GroupAggregate", "Hash Join",
                          "Nested Loop", "Merge Join", "Gather", "Gather Merge"):  # fmt: skip
                parts.append(kind)
        return "; ".join(parts)


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


@contextmanager
def captured(engine: AsyncEngine) -> Iterator[list[Statement]]:
    """The statements sent through ``engine`` inside the block."""
    statements: list[Statement] = []

    def remember(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        if sql.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append(Statement(sql, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", remember)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", remember)


async def explain(engine: AsyncEngine, statement: Statement, analyze: bool = True) -> None:
    """Fill in the statement's plan (and its server time when ``analyze``)."""
    options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql(
            f"EXPLAIN ({options}) {statement.sql}", statement.parameters
        )
        document = result.scalar_one()
    top = document[0]
    statement.plan = top["Plan"]
    statement.server_ms = float(top.get("Execution Time", 0.0)) + float(
        top.get("Planning Time", 0.0)
    )


async def text_plan(engine: AsyncEngine, statement: Statement) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) as PostgreSQL prints it, for the bench's output."""
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql(
            f"EXPLAIN (ANALYZE, BUFFERS) {statement.sql}", statement.parameters
        )
        return "\n".join(row[0] for row in result)


@dataclass(slots=True)
class Measured:
    query: ReportQuery
    statements: list[Statement]
    wall_ms: list[float]
    timed_out: bool = False

    @property
    def median_ms(self) -> float:
        return statistics.median(self.wall_ms)


async def measure(
    store: TicketStore, span: Span, query: ReportQuery, repeats: int = 3, analyze: bool = True
) -> Measured:
    """Run the query once to warm the cache and capture its SQL, then ``repeats`` times timed
    end to end (store call + the Python after it); explain each captured statement. A query
    the store's statement timeout (60 s) stops is reported as timed out, with its plan."""
    timed_out = False
    with captured(store.engine) as statements:
        began = time.perf_counter()
        try:
            await query.run(store, span)
        except TimeoutError:
            timed_out = True
        first = (time.perf_counter() - began) * 1000
    walls = []
    # A query that takes seconds is not repeated: its first run (warm enough) is the figure.
    for _ in range(repeats if first < SLOW_MS else 0):
        began = time.perf_counter()
        await query.run(store, span)
        walls.append((time.perf_counter() - began) * 1000)
    for statement in statements:
        # EXPLAIN ANALYZE runs the statement again: not for one that takes a quarter minute.
        await explain(store.engine, statement, analyze and first < ANALYZE_BELOW_MS)
    return Measured(query, statements, walls or [first], timed_out)


async def busy_span(engine: AsyncEngine, month: Sequence[int] = (2025, 11)) -> Span:
    """The busiest day of ``month`` (local) and the month, plus its most frequent caller."""
    year, number = month
    start = dt.datetime(year, number, 1, tzinfo=ZONE)
    end = dt.datetime(year + number // 12, number % 12 + 1, 1, tzinfo=ZONE)
    async with engine.connect() as connection:
        day = (
            await connection.execute(
                text(
                    "SELECT date_trunc('day', counted_at AT TIME ZONE 'Asia/Shanghai') AS d"
                    " FROM call_records WHERE counted_at >= :s AND counted_at < :e"
                    " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
                ),
                {"s": start, "e": end},
            )
        ).scalar_one()
        caller = (
            await connection.execute(
                text(
                    "SELECT caller_number FROM tickets WHERE created_at >= :s AND created_at < :e"
                    " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
                ),
                {"s": start, "e": end},
            )
        ).scalar_one()
    return Span(day.replace(tzinfo=ZONE), start, end, caller)
