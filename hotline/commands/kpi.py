"""``hotline kpi``: call KPIs over a range of local days, read from the call store.

``--from`` and ``--to`` are local dates in the KPI timezone (settings ``site.timezone``);
``--from`` is inclusive, ``--to`` exclusive: ``--from 2026-11-23 --to 2026-11-24`` is the
one day of 23 November, midnight to midnight local time. Without ``--to``, one day.
A call belongs to the day its first queue leg entered the queue (else it started).
With ``--queue`` the store returns that queue's legs only, so the totals cover that queue;
with ``--pbx`` the calls of that Asterisk only (by default every PBX's calls are summed, and
the per-PBX table splits them).
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, time, timedelta
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from acd.kpi import Figure, FigureSet, KpiParams, KpiReport, compute
from hotline.commands.database_errors import reason as driver_reason
from hotline.settings import Settings, load_settings

# The figures shown per queue, agent, day and hour, with short column headers; the totals
# table shows every figure with its formula.
COMPACT: dict[str, str] = {
    "offered": "offered",
    "answered": "answered",
    "answer_timeliness": "timely %",
    "connect_rate": "connect %",
    "abandon_rate": "abandon %",
    "asa": "ASA",
    "aht": "AHT",
    "longest_wait": "longest",
    "ring_no_answer": "missed rings",
}


class StoreUnavailable(click.ClickException):
    exit_code = 3


# A local day ±14 h must still be a datetime once in UTC (the store's time zone).
FIRST_DAY = date(1, 1, 2)
LAST_DAY = date(9999, 12, 30)


def within_calendar(day: date, option: str) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise click.BadParameter(
            f"{day.isoformat()} is out of range ({FIRST_DAY.isoformat()} to"
            f" {LAST_DAY.isoformat()})",
            param_hint=option,
        )
    return day


def local_window(first: date, last: date, timezone: str) -> tuple[datetime, datetime]:
    """[first 00:00, last 00:00) in local time, as aware datetimes."""
    zone = KpiParams(timezone=timezone).zone()
    return datetime.combine(first, time(), zone), datetime.combine(last, time(), zone)


async def read_store(
    url: str, start: datetime, end: datetime, queue: str | None, pbx: str | None = None
) -> tuple[list[dict[str, Any]], list[tuple[datetime, datetime, str]]]:
    # Imported here so the other commands do not pay for (or break on) the store's imports.
    from ticketing.store import TicketStore

    store = await TicketStore.open(url)
    try:
        records = await store.calls_between(start, end, queue, pbx)
        exclusions = await store.exclusions_between(start, end)
    finally:
        await store.close()
    return records, exclusions


def shown_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def format_value(figure: Figure) -> str:
    if figure.value is None:
        return "—"
    if figure.unit == "ratio":
        return f"{figure.value * 100:.1f} %"
    if figure.unit == "s":
        return f"{figure.value:.1f} s"
    return f"{figure.value:g}"


def format_number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def format_target(figure: Figure) -> str:
    if figure.target is None:
        return ""
    mark = {True: " ✓", False: " ✗", None: ""}[figure.meets_target]
    return f"≥ {figure.target * 100:g} %{mark}"


def totals_table(title: str, figures: FigureSet) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("figure", "value", "formula", "numerator", "denominator", "target"):
        table.add_column(column, justify="right" if column in ("value", "numerator") else "left")
    for figure in figures.values():
        table.add_row(
            f"{figure.label_zh} {figure.label_en}",
            format_value(figure),
            figure.formula,
            format_number(figure.numerator),
            format_number(figure.denominator),
            format_target(figure),
        )
    return table


def compact_table(title: str, sets: dict[str, FigureSet]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("", no_wrap=True)
    names = [name for name in COMPACT if any(name in figures for figures in sets.values())]
    for name in names:
        table.add_column(COMPACT[name], justify="right")
    for key, figures in sets.items():
        table.add_row(key, *(format_value(figures[n]) if n in figures else "" for n in names))
    return table


def print_report(report: KpiReport, header: str) -> None:
    console = Console(width=160)
    console.print(header)
    counts = (
        f"{report.calls} calls, {report.legs} legs; excluded {report.excluded.calls} calls"
        f" ({report.excluded.legs} legs) in exclusion windows; {len(report.rejected)} unusable"
    )
    console.print(counts)
    for reason, n in report.excluded.by_reason.items():
        console.print(f"  excluded: {n} calls — {reason}")
    for item in report.rejected:
        console.print(f"  unusable record {item.key}: {item.reason}")
    console.print(totals_table("Totals (each call counted once)", report.totals))
    for title, sets in (
        ("Per queue (each queue leg counted)", report.by_queue),
        ("Per agent (legs the agent answered)", report.by_agent),
        ("Per PBX (each call counted once)", report.by_pbx),
        ("Per day", report.by_day),
        ("Per hour", report.by_hour),
    ):
        if sets:
            console.print(compact_table(title, sets))


def run(
    settings: Settings,
    first: date,
    last: date,
    queue: str | None,
    as_json: bool,
    pbx: str | None = None,
) -> None:
    params = KpiParams.from_settings(settings.kpi)
    start, end = local_window(first, last, params.timezone)
    url = settings.database.url
    try:
        records, exclusions = asyncio.run(read_store(url, start, end, queue, pbx))
    except (OSError, SQLAlchemyError) as error:
        raise StoreUnavailable(
            f"cannot read the call store {shown_url(url)}: {driver_reason(error)}"
        ) from None
    report = compute(records, params, exclusions)
    period = {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "to_is": "exclusive",
        "timezone": params.timezone,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "queue": queue,
        "pbx": pbx,
    }
    if as_json:
        click.echo(json.dumps({"period": period, **report.to_json()}, ensure_ascii=False, indent=2))
        return
    scope = (f", queue {queue}" if queue else "") + (f", PBX {pbx}" if pbx else "")
    print_report(report, f"Call KPIs {first} to {last} (exclusive), {params.timezone}{scope}")


@click.command()
@click.option(
    "--from",
    "first",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="First local day, inclusive (YYYY-MM-DD).",
)
@click.option(
    "--to",
    "last",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Local day the range ends at, exclusive (default: the day after --from).",
)
@click.option("--queue", default=None, help="Only this queue's legs.")
@click.option("--pbx", default=None, help="Only this Asterisk's calls (default: all, summed).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def kpi(
    first: datetime, last: datetime | None, queue: str | None, pbx: str | None, as_json: bool
) -> None:
    """Call KPIs (connect rate, 15 s timeliness, abandons, ASA, AHT…) with their formulas."""
    first_day = within_calendar(first.date(), "--from")
    last_day = within_calendar(
        last.date() if last is not None else first_day + timedelta(days=1), "--to"
    )
    if last_day <= first_day:
        raise click.BadParameter("must be after --from (--to is exclusive)", param_hint="--to")
    run(load_settings(), first_day, last_day, queue, as_json, pbx)
