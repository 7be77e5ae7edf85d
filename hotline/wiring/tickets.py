"""Tickets: the store (calls, tickets, incidents, surveys) and the buffered call writer."""

from __future__ import annotations

from typing import Any

from hotline.settings import Settings
from hotline.wiring.cases import case_timers
from ticketing.store import TicketStore
from ticketing.writer import BufferedCallWriter


async def open_store(settings: Settings) -> TicketStore:
    return await TicketStore.open(
        settings.database.url,
        timezone=settings.site.timezone,
        timers=case_timers(settings),
        call_back_attempts=settings.cases.call_back_attempts,
    )


def start_writer(store: TicketStore, settings: Settings) -> BufferedCallWriter:
    """The writer that keeps finished calls through a database outage (buffer, then spill)."""
    db = settings.database
    writer = BufferedCallWriter(store, db.buffer_size, db.retry_interval, db.spill_path)
    writer.start()
    return writer


def writer_health(writer: BufferedCallWriter) -> dict[str, Any]:
    """The database component of /healthz: the writer knows whether writes go through."""
    status = dict(writer.status())
    return {**status, "ok": bool(status.get("db_ok"))}
