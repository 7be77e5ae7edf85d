"""``hotline deadline``: when is a case due? The operator's check of a deadline rule.

``--start`` is local time in ``site.timezone`` (or carries its own offset). The limit is one
of ``--working-days``, ``--working-hours``, ``--hours``, or the policy's limit for
``--category`` (``--urgent`` for an urgent case) under ``--preset`` (default: the settings'
``cases.deadline_preset`` with its per-category limits). Business hours and the calendar are
the service's own (``[cases]``, chinese-calendar).
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import click

from hotline.settings import load_settings
from hotline.wiring.cases import case_timers
from ticketing.models import TICKET_CATEGORIES
from ticketing.workflow.deadlines import PRESETS, UNIT_NAMES, Limit, policy
from working_days import WorkingTime


def _start(text: str, zone: dt.tzinfo) -> dt.datetime:
    try:
        start = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: write a local time like 2026-09-30 16:00", param_hint="--start"
        ) from None
    return start.replace(tzinfo=zone) if start.tzinfo is None else start.astimezone(zone)


def _limit(
    working_days: int | None,
    working_hours: float | None,
    hours: float | None,
    category: str | None,
    urgent: bool,
    preset: str | None,
    overrides: dict[str, str],
    default_preset: str,
) -> tuple[Limit, str]:
    given = [x is not None for x in (working_days, working_hours, hours, category)]
    if sum(given) != 1:
        raise click.UsageError("give one of --working-days, --working-hours, --hours or --category")
    if category is None and (preset is not None or urgent):
        # A preset's limits are per category: with a limit given directly it would do nothing.
        raise click.UsageError("--preset and --urgent choose the limit of a --category")
    if working_days is not None:
        return Limit(working_days, "wd"), "given"
    if working_hours is not None:
        return Limit(working_hours, "wh"), "given"
    if hours is not None:
        return Limit(hours, "h"), "given"
    assert category is not None
    name = preset or default_preset
    # The settings' per-category limits belong to the settings' preset only.
    chosen = policy(name, overrides if name == default_preset else None)
    urgency = "urgent" if urgent else "normal"
    return chosen.limit_for(category, urgency), f"{name} preset, {category} ({urgency})"


@click.command()
@click.option("--start", "start_text", required=True, help="local time, e.g. '2026-09-30 16:00'")
@click.option("--working-days", type=click.IntRange(0, 365), help="working days (0: same day)")
@click.option("--working-hours", type=click.FloatRange(0, 2000), help="working hours")
@click.option("--hours", type=click.FloatRange(0, 10000), help="clock hours")
@click.option("--category", type=click.Choice(TICKET_CATEGORIES), help="the policy's limit")
@click.option("--urgent", is_flag=True, help="with --category: an urgent case")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), help="deadline preset")
@click.option("--json", "as_json", is_flag=True, help="one JSON object")
def deadline(
    start_text: str,
    working_days: int | None,
    working_hours: float | None,
    hours: float | None,
    category: str | None,
    urgent: bool,
    preset: str | None,
    as_json: bool,
) -> None:
    """Print when a case started at --start is due."""
    settings = load_settings()
    timers = case_timers(settings)
    time: WorkingTime = timers.time
    start = _start(start_text, time.hours.zone)
    cases = settings.cases
    limit, source = _limit(
        working_days, working_hours, hours, category, urgent, preset, cases.deadlines,
        cases.deadline_preset,
    )  # fmt: skip
    # The calendar warns through logging; here the operator must see it whatever the level.
    logging.getLogger("working_days").setLevel(logging.ERROR)
    due = limit.due(time, start)
    unknown = sorted(time.calendar.years_without_data)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "start": start.isoformat(),
                    "limit": str(limit),
                    "source": source,
                    "due": due.isoformat(),
                    "due_utc": due.astimezone(dt.UTC).isoformat(),
                    "years_without_data": unknown,
                },
                ensure_ascii=False,
            )
        )
    else:
        amount = int(limit.amount) if limit.amount.is_integer() else limit.amount
        zone = time.hours.zone.key
        click.echo(f"start  {start:%Y-%m-%d %H:%M %a} ({zone})")
        click.echo(f"limit  {amount} {UNIT_NAMES[limit.unit]} ({source})")
        click.echo(
            f"due    {due:%Y-%m-%d %H:%M %a} ({zone}) = {due.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
        )
        for day in _skipped(time, start, due):
            click.echo(f"       {day}")
    if unknown:
        years = ", ".join(str(year) for year in unknown)
        click.echo(
            f"warning: no holiday data for {years}: Monday–Friday counted as working days"
            " (upgrade chinese-calendar)",
            err=True,
        )


def _skipped(time: WorkingTime, start: dt.datetime, due: dt.datetime) -> list[str]:
    """The holidays and make-up working days between start and due, one line each."""
    lines = []
    day = start.date() + dt.timedelta(days=1)
    while day <= due.date():
        name = time.calendar.holiday_name(day)
        if name and not time.calendar.is_working_day(day):
            lines.append(f"{day:%Y-%m-%d %a}  holiday: {name}")
        elif time.calendar.is_makeup_working_day(day):
            lines.append(f"{day:%Y-%m-%d %a}  make-up working day")
        day += dt.timedelta(days=1)
    return lines
