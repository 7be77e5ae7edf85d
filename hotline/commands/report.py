"""``hotline report daily|weekly|monthly``: the daily log, weekly report or monthly briefing as
XLSX and PDF files, from the store, with a progress bar (rich) while the queries run.

``--date`` picks the day (daily) or a day of the week, Monday to Sunday (weekly); ``--month``
the month (monthly, YYYY-MM). Days are local days in ``site.timezone``. The files are those
the console's download links give (callers' numbers masked in both).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import SQLAlchemyError

from acd.kpi import KpiParams
from hotline.commands.database_errors import reason as driver_reason
from hotline.commands.kpi import StoreUnavailable, shown_url
from hotline.reports import periods
from hotline.reports.build import STEPS, ReportPolicy
from hotline.reports.files import FORMATS, report_files
from hotline.reports.pdf import FontMissing
from hotline.settings import Settings, load_settings
from ticketing.reports import ReportFilter


async def _files(
    settings: Settings, period: periods.Period, flt: ReportFilter, params: KpiParams,
    formats: tuple[str, ...], step: Callable[[str], None],
) -> dict[str, bytes]:  # fmt: skip
    # Imported here so the other commands do not pay for the store's imports.
    from ticketing.qa import QaDesk, ScorecardItem
    from ticketing.store import TicketStore

    store = await TicketStore.open(settings.database.url)
    try:
        scorecard = [ScorecardItem(i.id, i.label, i.points, i.kind, tuple(i.phrases))
                     for i in settings.qa.scorecard]  # fmt: skip
        return await report_files(
            store.engine, period, flt, params, formats=formats,
            qa=QaDesk(store.engine, scorecard),
            policy=ReportPolicy.from_settings(settings.reports), step=step,
        )  # fmt: skip
    finally:
        await store.close()


def run(
    settings: Settings, period: periods.Period, flt: ReportFilter, out: Path,
    formats: tuple[str, ...],
) -> list[Path]:  # fmt: skip
    params = KpiParams.from_settings(settings.kpi, timezone=settings.site.timezone)
    out.mkdir(parents=True, exist_ok=True)
    columns = (TextColumn("{task.description:<20}"), BarColumn(),
               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn())  # fmt: skip
    steps = len(STEPS) + ("xlsx" in formats) * 2 + ("pdf" in formats)
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("queries", total=steps)

        def step(name: str) -> None:
            progress.update(task, advance=1, description=name)

        try:
            files = asyncio.run(_files(settings, period, flt, params, formats, step))
        except (OSError, SQLAlchemyError) as error:
            url = settings.database.url
            raise StoreUnavailable(
                f"cannot read the store {shown_url(url)}: {driver_reason(error)}"
            ) from None
        except FontMissing as error:
            raise click.ClickException(str(error)) from None
    written = []
    for kind in formats:
        path = out / f"report-{period.kind}-{period.label}.{kind}"
        path.write_bytes(files[kind])
        written.append(path)
    return written


@click.command()
@click.argument("kind", type=click.Choice(["daily", "weekly", "monthly"]))
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="daily: the day; weekly: any day of the week (YYYY-MM-DD).",
)
@click.option("--month", default=None, help="monthly: the month (YYYY-MM).")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory to write the files to (created if missing).",
)
@click.option(
    "--format",
    "formats",
    type=click.Choice(FORMATS),
    multiple=True,
    help="xlsx, pdf (default: both).",
)
@click.option("--queue", default=None, help="One queue's calls only.")
@click.option("--category", default=None, help="One case category only.")
@click.option("--area", default=None, help="One area (the case's district) only.")
@click.option("--unit", default=None, help="One handling unit only.")
def report(
    kind: str, day: datetime | None, month: str | None, out: Path, formats: tuple[str, ...],
    queue: str | None, category: str | None, area: str | None, unit: str | None,
) -> None:  # fmt: skip
    """The daily log (日报), weekly report (周报) or monthly briefing (月度简报) as XLSX and PDF."""
    settings = load_settings()
    params = KpiParams.from_settings(settings.kpi, timezone=settings.site.timezone)
    if day is not None and not 1970 <= day.year < 2200:
        raise click.BadParameter("a day between 1970 and 2199", param_hint="--date")
    try:
        period = periods.of(kind, params.zone(), day.date() if day else None, month)
    except ValueError as error:
        hint = "--month" if kind == "monthly" else "--date"
        raise click.BadParameter(str(error), param_hint=hint) from None
    flt = ReportFilter(queue=queue, category=category, area=area, unit=unit)
    for path in run(settings, period, flt, out, formats or FORMATS):
        click.echo(str(path))
