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
import os
import platform
import time
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine

from bench.report_data import Plan, generate
from bench.report_queries import QUERIES, Measured, busy_span, measure, text_plan
from tests.pg import running_server
from ticketing import migrate
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
BIG = ("call_records", "survey_results", "tickets", "ticket_events", "callbacks", "qa_scores")


async def prepare(url: str, plan: Plan, say: Any = print) -> dict[str, int]:
    """Migrate the empty database at ``url``, generate ``plan``'s year, vacuum and analyse."""
    await migrate.upgrade_url(url)
    # The store's engine gives up on a statement after 60 s; one month of a big year's
    # cases takes longer than that to generate.
    engine = create_async_engine(url, connect_args={"command_timeout": None})
    try:
        began = time.perf_counter()
        async with engine.connect() as connection:
            counts = await generate(
                connection, plan, lambda m: say(f"  {m} ({time.perf_counter() - began:.0f} s)")
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
    flag = "OK " if measured.median_ms <= 100 else "SLOW"
    return (
        f"{flag} {measured.query.name:<34} {measured.median_ms:9.1f} ms end to end"
        f" | server {server} ms | seq scans: {', '.join(scans) or 'none'}"
    )


async def run(args: argparse.Namespace) -> None:
    plan = Plan(args.calls, args.year, args.seed)
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores,"
          f" Python {platform.python_version()}, load {os.getloadavg()}")  # fmt: skip
    with running_server(SERVER_OPTIONS) as server:
        url = server.url(server.create_database("reports"))
        print(f"generating {plan.calls:,} calls of {plan.year} (seed {plan.seed})")
        counts = await prepare(url, plan)
        table_sizes = await sizes(url)
        for name, count in counts.items():
            print(f"  {name:<16} {count:>12,} rows  {table_sizes[name]:>10}")
        store = await TicketStore.open(url)
        try:
            span = await busy_span(store.engine, (plan.year, args.month))
            print(f"asking about {span.day:%Y-%m-%d} (busiest day of the month) and"
                  f" {span.month:%Y-%m}; load {os.getloadavg()}")  # fmt: skip
            results = []
            for query in QUERIES:
                measured = await measure(store, span, query, args.repeats)
                results.append(measured)
                print(report_line(measured), flush=True)
                for statement in measured.statements:
                    print(f"     plan: {statement.summary()}")
                    if not args.brief:
                        plan_text = await text_plan(store.engine, statement)
                        print("       " + plan_text.replace("\n", "\n       "))
            print(f"load at the end {os.getloadavg()}")
        finally:
            await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--month", type=int, default=11, help="the month the reports are about")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--brief", action="store_true", help="plan summaries, not full EXPLAINs")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
