"""``hotline staffing``: the Erlang C plan of a day per half hour, from the call store.

Calls per half hour are the mean of the same weekday on the last ``staffing.weeks`` weeks
(``--calls HH:MM=N`` types one in); AHT comes from the same history (``--aht`` overrides it);
the target is ``[staffing]`` (``--level`` / ``--within`` override it).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from acd.staffing import SLOT_S, DayPlan, Target
from hotline.commands.database_errors import reason as driver_reason
from hotline.commands.kpi import StoreUnavailable, shown_url, within_calendar
from hotline.settings import Settings, load_settings


async def plan_from_store(
    settings: Settings,
    day: datetime,
    typed: dict[int, float],
    target: Target,
    aht_s: float | None,
) -> DayPlan:
    # Imported here so the other commands do not pay for (or break on) the store's imports.
    from hotline.wiring.staffing import build_planner
    from ticketing.store import TicketStore

    store = await TicketStore.open(settings.database.url)
    try:
        planner = build_planner(settings, store, lambda: day.timestamp())
        return await planner.plan_day(day.date(), typed=typed, target=target, aht_s=aht_s)
    finally:
        await store.close()


def parse_typed(values: tuple[str, ...]) -> dict[int, float]:
    typed: dict[int, float] = {}
    for value in values:
        when, _, count = value.partition("=")
        try:
            moment = datetime.strptime(when.strip(), "%H:%M")
            calls = float(count)
        except ValueError:
            raise click.BadParameter(f"{value!r}: HH:MM=calls", param_hint="--calls") from None
        if moment.minute % 30 or calls < 0:
            raise click.BadParameter(
                f"{value!r}: a half hour (:00 or :30), calls ≥ 0", param_hint="--calls"
            )
        typed[(moment.hour * 3600 + moment.minute * 60) // SLOT_S] = calls
    return typed


@click.command()
@click.option(
    "--date",
    "day",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The local day to plan (YYYY-MM-DD).",
)
@click.option("--calls", "typed", multiple=True, help="Typed calls of a half hour: 09:30=120.")
@click.option("--aht", type=click.FloatRange(min=1, max=3600), help="AHT in seconds, every slot.")
@click.option("--level", type=click.FloatRange(0.01, 0.999), help="Service level, e.g. 0.8.")
@click.option("--within", type=click.FloatRange(0, 3600), help="Answered within, seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def staffing(
    day: datetime,
    typed: tuple[str, ...],
    aht: float | None,
    level: float | None,
    within: float | None,
    as_json: bool,
) -> None:
    """Agents needed per half hour (Erlang C) for the service-level target."""
    within_calendar(day.date(), "--date")
    settings = load_settings()
    config = settings.staffing
    target = Target(
        level if level is not None else config.service_level,
        within if within is not None else config.answer_s,
        config.max_occupancy,
    )
    try:
        plan = asyncio.run(plan_from_store(settings, day, parse_typed(typed), target, aht))
    except (OSError, SQLAlchemyError) as error:
        raise StoreUnavailable(
            f"cannot read the call store {shown_url(settings.database.url)}: {driver_reason(error)}"
        ) from None
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(plan.to_json(), ensure_ascii=False, indent=2))
        return
    body = plan.to_json()
    basis = ", ".join(body["weeks_used"]) or "no calls on this weekday in the recent weeks"
    table = Table(
        title=f"Staffing {body['date']}: {target.service_level * 100:g} % within "
        f"{target.answer_s:g} s (forecast from {basis})",
        title_justify="left",
    )
    for column in ("from", "calls", "AHT s", "Erlangs", "agents", "service level", "ASA s"):
        table.add_column(column, justify="left" if column == "from" else "right")
    for row in body["slots"]:
        if not row["calls"]:
            continue
        asa = "∞" if row["asa_s"] is None else f"{row['asa_s']:.1f}"
        table.add_row(
            row["start"] + (" *" if row["typed"] else ""),
            f"{row['calls']:g}",
            f"{row['aht_s']:.0f}",
            f"{row['load']:.2f}",
            str(row["agents"]),
            f"{row['service_level'] * 100:.1f} %",
            asa,
        )
    Console().print(table)
    click.echo(f"peak: {body['peak_agents']} agents; * typed calls")
