"""``hotline rollup build|status``: the report rollups by hand.

The running service keeps the rollups built (``reports.rollup_interval_s``), a few dozen
hours per pass; after upgrading a big database ``hotline rollup build`` builds every hour of
its history at once, with a progress bar (one step per UTC day). ``--from`` and ``--to`` are
UTC days (the rollups are kept per UTC hour and day), ``--to`` exclusive; by default from the
first call or case up to the current hour. ``status`` says how far they are built, what
waits, and the KPI thresholds the rows were built with. Reports are right either way: an
hour not built is read from the raw rows.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.commands.database_errors import shown_url
from hotline.commands.with_store import run_with_store
from hotline.settings import Settings, load_settings
from hotline.wiring.rollups import report_thresholds

T = TypeVar("T")
DAY = click.DateTime(formats=["%Y-%m-%d"])


def _run(settings: Settings, action: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    return run_with_store(settings, lambda store: action(store.engine))


def _utc(day: datetime | None) -> datetime | None:
    return None if day is None else day.replace(tzinfo=UTC)


@click.group()
def rollup() -> None:
    """Report rollups (counts summed per UTC hour and day): build them, see how far they are."""


@rollup.command()
@click.option(
    "--from",
    "first",
    type=DAY,
    default=None,
    help="First UTC day to build (YYYY-MM-DD; default: the first call or case).",
)
@click.option(
    "--to",
    "last",
    type=DAY,
    default=None,
    help="UTC day to stop before, exclusive (default: up to the current hour).",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 8),
    default=1,
    show_default=True,
    help="UTC days built at once, each on a connection (PostgreSQL only: SQLite writes one "
    "at a time).",
)
def build(first: datetime | None, last: datetime | None, jobs: int) -> None:
    """Build (or rebuild) every hour and day of the rollups in the range."""
    from ticketing.rollup.build_lock import building
    from ticketing.rollup.refresh import Refreshed, build_all

    settings = load_settings()
    start, end = _utc(first), _utc(last)
    if start is not None and end is not None and end <= start:
        raise click.BadParameter("must be a day after --from", param_hint="--to")
    if jobs > 1 and settings.database.url.startswith("sqlite"):
        raise click.BadParameter("SQLite builds one day at a time: leave it 1", param_hint="--jobs")
    now = datetime.now(UTC)
    # Never past the current hour: it is still being written (the refresher builds it after).
    end = now if end is None or end > now else end
    thresholds = report_thresholds(settings)
    columns = (
        TextColumn("{task.description}"), BarColumn(),
        TextColumn("{task.completed}/{task.total} UTC days"), TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("rollups", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        async def build_them(engine: AsyncEngine) -> Refreshed:
            # Waits for a pass of the service's refresher to end; its next ones skip.
            async with building(engine, wait=True):
                return await build_all(engine, thresholds, start, end, advance, jobs=jobs)

        done = _run(settings, build_them)
    click.echo(f"built {done.hours} hours, rolled {done.days} UTC days in "
               f"{shown_url(settings.database.url)}")  # fmt: skip


@rollup.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(as_json: bool) -> None:
    """How far the rollups are built, what waits, the thresholds they were built with."""
    from ticketing.rollup.status import rollup_status

    settings = load_settings()
    thresholds = report_thresholds(settings)

    async def read(engine: AsyncEngine) -> dict[str, Any]:
        async with engine.connect() as connection:
            found = await rollup_status(connection, thresholds, datetime.now(UTC))
        return found.to_json()

    found = _run(settings, read)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    click.echo("\n".join(_lines(found, settings)))


def _hour(moment: str | None) -> str:
    if moment is None:
        return "—"
    return datetime.fromisoformat(moment).astimezone(UTC).strftime("%Y-%m-%d %H:00 UTC")


def _lines(found: dict[str, Any], settings: Settings) -> list[str]:
    wanted = report_thresholds(settings)
    built = f"{found['hours']}"
    if found["hours"]:
        built += f" ({_hour(found['first'])} to {_hour(found['last'])})"
    dirty = f"{found['dirty']} waiting"
    if found["oldest_dirty"]:
        dirty += f" (oldest {_hour(found['oldest_dirty'])})"
    lines = [
        f"rollups in {shown_url(settings.database.url)}",
        f"built hours     {built}",
        f"rolled days     {found['days']} (UTC)",
        f"dirty hours     {dirty}: written since built, read raw until rebuilt",
        f"unbuilt hours   {found['unbuilt']} waiting: read raw until built",
    ]
    assumed = found["thresholds"]
    if assumed is None:
        lines.append("thresholds      none yet (nothing built): run `hotline rollup build`")
    else:
        shown = (f"answered within {assumed['answer_threshold_s']} s, "
                 f"short abandon within {assumed['short_abandon_s']} s")  # fmt: skip
        if found["thresholds_current"]:
            lines.append(f"thresholds      {shown} (the settings')")
        else:
            lines.append(
                f"thresholds      {shown}; the settings say {wanted.answer_threshold_s} s and "
                f"{wanted.short_abandon_s} s: the next pass or build rebuilds every hour"
            )
    return lines
