"""``hotline replay PATH``: derive call records from a recorded AMI stream.

Prints one JSON object per finished call leg, ordered by call start then leg as expected.json
is (the tracker finishes them in the order they ended), with the field names and value
conventions of the captures' expected.json (plus extra fields). ``--store`` also writes the
calls and their tickets to the configured database (idempotent: replaying the same stream twice
stores nothing new) and prints the KPI figures of the replayed calls on stderr.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from acd.calls import CallTracker
from acd.kpi import KpiParams, compute
from acd.records import CallRecord
from hotline.capture_files import CaptureError, read_messages
from hotline.commands.database_errors import DATABASE_ERRORS, database_problem
from hotline.settings import Settings, SettingsError, load_settings

_TIMES = ("started_at", "ivr_ended_at", "queue_entered_at", "answered_at", "ended_at")


def start_order(record: CallRecord) -> tuple[float, int]:
    """Sort key: when the call started (else the first time known of it), then the leg."""
    if record.started_at is not None:
        return (record.started_at, record.leg)
    times = [t for t in (getattr(record, name) for name in _TIMES) if t is not None]
    return (min(times, default=float("inf")), record.leg)


def derive_records(path: Path, settings: Settings | None = None) -> tuple[list[CallRecord], int]:
    """The finished legs of the recording in start order, and how many calls were still in
    flight at its end."""
    settings = settings or load_settings()
    records: list[CallRecord] = []
    tracker = CallTracker(on_record=records.append, entry_contexts=[settings.pbx.inbound_context])
    tracker.feed(read_messages(path))
    records.sort(key=start_order)
    return records, len(tracker.active_calls())


async def store_records(
    records: list[dict[str, Any]], settings: Settings
) -> tuple[int, list[tuple[str, str]]]:
    """Store the records; return how many were new and (key, reason) of those refused.

    One record the store cannot hold must not cost the others: on a refused batch each record
    is stored alone (save_calls is idempotent, so nothing is stored twice).
    """
    from ticketing.store import TicketStore

    store = await TicketStore.open(settings.database.url)
    try:
        try:
            return await store.save_calls(records), []
        except ValueError:
            pass
        inserted, refused = 0, []
        for record in records:
            try:
                inserted += await store.save_calls([record])
            except ValueError as error:
                refused.append((str(record.get("key")), str(error)))
        return inserted, refused
    finally:
        await store.close()


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--store", "store", is_flag=True, help="Also write calls and tickets to the database."
)
@click.option("--expected-only", is_flag=True, help="Print only the fields of expected.json.")
@click.option(
    "--pbx",
    default=None,
    help="The Asterisk the stream was recorded on (default: the first PBX of the settings).",
)
def replay(path: Path, store: bool, expected_only: bool, pbx: str | None) -> None:
    """Print the call records derived from a capture folder, ami.jsonl or ami.raw."""
    settings = load_settings()
    try:
        # Uniqueids are unique per Asterisk: the records are that PBX's calls.
        name = settings.pbx_server(pbx).name if pbx else settings.pbx_servers()[0].name
    except SettingsError as error:
        raise click.BadParameter(str(error), param_hint="--pbx") from None
    try:
        records, in_flight = derive_records(path, settings)
    except CaptureError as error:
        raise click.ClickException(str(error)) from None
    for record in records:
        record.pbx = name
    for record in records:
        data = record.expected_view() if expected_only else record.to_json()
        click.echo(json.dumps(data, ensure_ascii=False))
    if in_flight:
        click.echo(
            f"replay: {in_flight} call(s) still in flight at the end of the stream", err=True
        )
    if store:
        rows = [record.to_json() for record in records]
        try:
            inserted, refused = asyncio.run(store_records(rows, settings))
        except DATABASE_ERRORS as error:
            message = database_problem(settings.database.url, error, "store in")
            raise click.ClickException(message) from None
        report = compute(rows, KpiParams.from_settings(settings.kpi))
        click.echo(f"replay: stored {inserted} new of {len(rows)} call legs", err=True)
        for figure in report.totals.values():
            shown = "—" if figure.value is None else f"{figure.value:.4g}"
            click.echo(f"  {figure.name}: {shown}  ({figure.formula})", err=True)
        if refused:
            for key, reason in refused:
                click.echo(f"replay: call record {key} not stored: {reason}", err=True)
            sys.stdout.flush()
            raise SystemExit(1)
    sys.stdout.flush()
