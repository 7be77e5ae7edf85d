"""Report queries on a big city's year: time each one and show the plan it used.

Starts a throw-away PostgreSQL 15 cluster (tests/pg.py's, on a free loopback port, in a
temporary folder that is removed afterwards), migrates it with the project's migrations,
generates ``--calls`` calls and their cases over a year inside the server
(bench/report_data.py), then runs every report query (bench/report_queries.py) through the
project's own store code: the median of ``--repeats`` warm runs end to end, and each SQL
statement's EXPLAIN (ANALYZE, BUFFERS). Goal: every report query ≤ 100 ms.

    .venv/bin/python -m bench.reports --calls 1000000
    .venv/bin/python -m bench.reports --calls 10000000           # the full year (heavy)

Nothing generated is kept: the cluster is deleted when the bench ends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import create_async_engine

from acd.kpi import KpiParams
from bench.report_data import Plan, generate
from bench.report_queries import QUERIES, Measured, Span, busy_span, measure, text_plan
from hotline.reports import periods
from hotline.reports.files import report_files
from hotline.settings import Settings
from tests.pg import PostgresServer, running_server
from ticketing import migrate
from ticketing.qa import QaDesk, ScorecardItem
from ticketing.reports import ReportFilter, Thresholds
from ticketing.rollup import refresh
from ticketing.rollup.tables import (
    FACT_TABLES,
    MARK_TABLES,
    rollup_built,
    rollup_call_hour_keys,
    rollup_call_hours,
)
from ticketing.store import TicketStore

# Server settings of a modest dedicated database host (the defaults are sized for a laptop:
# 128 MB of shared buffers would make every month's report read from the OS cache).
SERVER_OPTIONS = (
    "-c shared_buffers=2GB",
    "-c work_mem=64MB",
    "-c maintenance_work_mem=512MB",
    "-c effective_cache_size=8GB",
    "-c max_wal_size=8GB",
    "-c checkpoint_timeout=30min",
)
RANDOM_PAGE_COST = 1.1
# The pre-report KPI pages stream a whole month of rows into Python (acd.kpi.compute,
# ticketing.workflow.case_kpis): minutes on a big year, so only timed on small ones.
STREAMED = {
    "call KPIs, one month": "streams ~830,000 call records into acd.kpi.compute",
    "case KPIs, one month": "streams ~4 million case events into case_kpis",
}
# Same SQL as a query timed already (another grouping key): on a big year, where each month
# query takes seconds, only the briefing runs them.
REPEATED_SHAPE = {
    "case_event_counts by category, month",
    "case_event_counts by area, month",
    "case_event_counts by total, month",
    "case_callback_counts by category, month",
    "case_callback_counts by area, month",
}
BIG = ("call_records", "survey_results", "tickets", "ticket_events", "callbacks", "qa_scores")


async def prepare(url: str, plan: Plan, say: Any = print, jobs: int = 1) -> dict[str, int]:
    """Migrate the empty database at ``url``, generate ``plan``'s year, vacuum and analyse."""
    await migrate.upgrade_url(url)
    # The store's engine gives up on a statement after 60 s; one month of a big year's
    # cases takes longer than that to generate.
    engine = create_async_engine(url, connect_args={"command_timeout": None})
    try:
        began = time.perf_counter()
        counts = await generate(
            engine, plan, lambda m: say(f"  {m} ({time.perf_counter() - began:.0f} s)"), jobs
        )
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            # SSD storage (what a database host has today): a random page costs about what a
            # sequential one does. With the default (4, for spinning disks) the planner reads
            # a year of case events whole rather than the month's cases' events by index.
            database = engine.url.database
            await autocommit.exec_driver_sql(
                f'ALTER DATABASE "{database}" SET random_page_cost = {RANDOM_PAGE_COST}'
            )
            # What autovacuum would have done on a live system: statistics and the
            # visibility map (which index-only scans need).
            for table in BIG:
                await autocommit.exec_driver_sql(f"VACUUM ANALYZE {table}")
        say(f"  generated and vacuumed in {time.perf_counter() - began:.0f} s")
    finally:
        await engine.dispose()
    return counts


async def build_rollups(
    url: str, plan: Plan, jobs: int, say: Any = print, month: int | None = None
) -> None:
    """`hotline rollup build` over the generated year (the generator writes with triggers
    off, as a bulk load would): the counts the report queries then read."""
    engine = create_async_engine(url, connect_args={"command_timeout": None})
    try:
        began = time.perf_counter()
        params = KpiParams()
        limits = Thresholds(params.answer_threshold_s, params.short_abandon_s)

        def progress(done: int, total: int) -> None:
            if done % 30 == 0 or done == total:
                say(f"  rollups: {done}/{total} days ({time.perf_counter() - began:.0f} s)")

        start = end = None
        if month is not None:  # the asked month and a day either side (local vs UTC days)
            first = dt.datetime(plan.year, month, 1, tzinfo=dt.UTC)
            start = first - dt.timedelta(days=1)
            end = (first + dt.timedelta(days=32)).replace(day=1) + dt.timedelta(days=1)
        built = await refresh.build_all(engine, limits, start, end, progress=progress, jobs=jobs)
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            for table in (*FACT_TABLES, rollup_call_hours, rollup_call_hour_keys, *MARK_TABLES):
                await autocommit.exec_driver_sql(f"VACUUM ANALYZE {table.name}")
                rows = await autocommit.exec_driver_sql(
                    f"SELECT count(*), pg_size_pretty(pg_total_relation_size('{table.name}'))"
                    f" FROM {table.name}"
                )
                count, size = tuple(rows.one())
                say(f"  {table.name:<18} {count:>12,} rows  {size:>10}")
        say(f"  rollups built: {built.hours:,} hours, {built.days} days in"
            f" {time.perf_counter() - began:.0f} s (jobs {jobs})")  # fmt: skip
    finally:
        await engine.dispose()


@contextlib.contextmanager
def bench_server(keep: Path | None) -> Iterator[tuple[PostgresServer, bool]]:
    """A throw-away cluster, or the one kept in ``keep`` (made there on the first run); with
    whether its year must be generated."""
    if keep is None:
        with running_server(SERVER_OPTIONS) as server:
            yield server, True
        return
    server = PostgresServer(keep, SERVER_OPTIONS)
    fresh = not server.data.exists()
    if fresh:
        keep.mkdir(parents=True, exist_ok=True)
        server.init()
    server.start()
    try:
        yield server, fresh
    finally:
        server.stop()


async def forget_rollups(url: str) -> None:
    """Every hour unbuilt: the queries read raw rows (the figures before the rollups)."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(delete(rollup_built))
    finally:
        await engine.dispose()


async def sizes(url: str) -> dict[str, str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            found = {}
            for table in BIG:
                size = await connection.exec_driver_sql(
                    f"SELECT pg_size_pretty(pg_total_relation_size('{table}'))"
                )
                found[table] = str(size.scalar_one())
            return found
    finally:
        await engine.dispose()


def report_line(measured: Measured) -> str:
    server = " + ".join(f"{s.server_ms:.1f}" for s in measured.statements)
    scans = sorted({t for s in measured.statements for t in s.seq_scans()})
    flag = "OK  " if measured.median_ms <= 100 else "SLOW"
    took = f"{measured.median_ms:9.1f} ms" if not measured.timed_out else "  > 60 s (timeout)"
    return (
        f"{flag} {measured.query.name:<44} {took} end to end"
        f" | server {server} ms | seq scans: {', '.join(scans) or 'none'}"
    )


async def run(args: argparse.Namespace) -> None:
    plan = Plan(args.calls, args.year, args.seed)
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores,"
          f" Python {platform.python_version()}, load {os.getloadavg()}")  # fmt: skip
    with bench_server(args.keep) as (server, fresh):
        if fresh:
            url = server.url(server.create_database("reports"))
            print(f"generating {plan.calls:,} calls of {plan.year}, seed {plan.seed},"
                  f" jobs {args.jobs}")  # fmt: skip
            counts = await prepare(url, plan, jobs=args.jobs)
            table_sizes = await sizes(url)
            for name, count in counts.items():
                print(f"  {name:<16} {count:>12,} rows  {table_sizes[name]:>10}")
        else:
            url = server.url("reports")
            await migrate.upgrade_url(url)
            print(f"reusing the year kept in {args.keep}: {await sizes(url)}")
        if args.generate_only:
            return
        if args.raw:
            await forget_rollups(url)
        elif args.rebuild_month:
            await build_rollups(url, plan, args.jobs, month=args.month)
        elif not args.reuse_rollups:
            await build_rollups(url, plan, args.jobs)
        store = await TicketStore.open(url)
        try:
            span = await busy_span(store.engine, (plan.year, args.month))
            print(f"asking about {span.day:%Y-%m-%d} (busiest day of the month) and"
                  f" {span.month:%Y-%m}; load {os.getloadavg()}")  # fmt: skip
            results = []
            for query in QUERIES:
                if plan.calls > 1_000_000 and query.name in STREAMED:
                    print(f"skip {query.name}: {STREAMED[query.name]}")
                    continue
                if plan.calls > 1_000_000 and query.name in REPEATED_SHAPE:
                    print(f"skip {query.name}: the same SQL as another key's (in the briefing)")
                    continue
                measured = await measure(store, span, query, args.repeats)
                results.append(measured)
                print(report_line(measured), flush=True)
                for statement in measured.statements:
                    print(f"     plan: {statement.summary()}")
                    if not args.brief:
                        plan_text = await text_plan(store.engine, statement)
                        print("       " + plan_text.replace("\n", "\n       "))
            if not args.no_briefing:
                if plan.calls <= 1_000_000:  # on a big year the steps are the queries above
                    await briefing_steps(store, span)
                briefing_command(url, span)
            print(f"load at the end {os.getloadavg()}")
        finally:
            await store.close()


async def briefing_steps(store: TicketStore, span: Span) -> None:
    """The monthly briefing in process, step by step (hotline.reports.files.report_files, what
    `hotline report monthly` and the console's download run): queries, drill-down, XLSX, PDF."""
    params = KpiParams()
    period = periods.monthly(span.month.year, span.month.month, params.zone())
    settings = Settings()
    scorecard = [ScorecardItem(i.id, i.label, i.points, i.kind, tuple(i.phrases))
                 for i in settings.qa.scorecard]  # fmt: skip
    qa = QaDesk(store.engine, scorecard)
    times: list[tuple[str, float]] = []
    last = time.perf_counter()

    def step(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        times.append((name, (now - last) * 1000))
        last = now

    began = time.perf_counter()
    files = await report_files(store.engine, period, ReportFilter(), params, qa=qa, step=step)
    sizes = ", ".join(f"{kind} {len(data) // 1024} KiB" for kind, data in files.items())
    total = (time.perf_counter() - began) * 1000
    print(f"monthly briefing {period.label} in process (report_files): {total:.0f} ms, {sizes}")
    for name, ms in times:
        print(f"  {name:<24} {ms:9.1f} ms")


def briefing_command(url: str, span: Span) -> None:
    """`hotline report monthly --month … --out DIR` end to end, as a user runs it (a new
    process: imports, connecting, migrations check, queries, XLSX and PDF written)."""
    month = f"{span.month:%Y-%m}"
    with tempfile.TemporaryDirectory(prefix="hotline-briefing-") as out:
        env = {**os.environ, "HOTLINE_DATABASE__URL": url}
        env.pop("HOTLINE_CONFIG", None)
        began = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "hotline", "report", "monthly", "--month", month,
             "--out", out],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        seconds = time.perf_counter() - began
        files = sorted(os.listdir(out))
    state = "ok" if done.returncode == 0 else f"FAILED ({done.returncode}): {done.stderr[-500:]}"
    flag = "OK " if seconds <= 10 and done.returncode == 0 else "SLOW"
    print(f"{flag} hotline report monthly --month {month}: {seconds:.2f} s, {state}, {files}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--month", type=int, default=11, help="the month the reports are about")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--brief", action="store_true", help="plan summaries, not full EXPLAINs")
    parser.add_argument("--jobs", type=int, default=1, help="months generated at once")
    parser.add_argument("--no-briefing", action="store_true", help="skip the monthly briefing")
    parser.add_argument(
        "--raw",
        action="store_true",
        help="build no rollups: every query reads raw rows (the old figures)",
    )
    parser.add_argument(
        "--keep", type=Path, help="keep the cluster in this folder, and reuse it when it is there"
    )
    parser.add_argument("--generate-only", action="store_true", help="stop after generating")
    parser.add_argument(
        "--reuse-rollups", action="store_true",
        help="with --keep: measure the rollups the folder already has",
    )  # fmt: skip
    parser.add_argument(
        "--rebuild-month", action="store_true",
        help="with --keep: rebuild only --month's rollups (after a change to what they hold)",
    )  # fmt: skip
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
