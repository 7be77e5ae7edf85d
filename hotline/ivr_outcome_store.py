"""What the IVR decided that the database keeps, written by the service alone.

The call tracker reads the IVR's HOTLINE_INCIDENT and HOTLINE_SURVEY channel variables from
AMI and publishes ``call.incident_reported`` and ``call.survey``; this subscriber merges the
call into the incident's ticket (并单) and stores the survey answer on the call's ticket and
in the live satisfaction KPI. One writer, whichever process (or host) ran the IVR: an IVR
process only reads the database. A write is retried through a short database outage, then
given up with an error line that carries the whole event.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from acd.kpi import LiveKpi
from events.topics import (
    CALL_INCIDENT_REPORTED,
    CALL_SURVEY,
)
from hotline.bus import Bus
from ivr.survey import ANSWERS
from retry_policy import Backoff, retry
from ticketing.store import TicketStore

log = logging.getLogger(__name__)

# A database write is retried this many times (database.retry_interval apart).
STORE_ATTEMPTS = 30
# The survey's key for each answer (the store keeps the key pressed next to the answer).
SURVEY_KEYS = {answer: key for key, answer in ANSWERS.items()}


class IvrOutcomeStore:
    """Subscribes to the tracker's incident reports and survey answers; stores them."""

    def __init__(self, store: TicketStore, kpi: LiveKpi, *, retry_interval: float = 2.0) -> None:
        self.store = store
        self.kpi = kpi
        self.retry_interval = retry_interval
        self.surveys = 0
        self.reports = 0

    def subscribe(self, bus: Bus) -> None:
        bus.subscribe(CALL_INCIDENT_REPORTED, self._on_incident_report, name="ivr-reports")
        bus.subscribe(CALL_SURVEY, self._on_survey, name="ivr-surveys")

    async def _on_incident_report(self, topic: str, payload: dict[str, Any]) -> None:
        incident_id, linkedid = payload.get("incident_id"), payload.get("linkedid")
        if not isinstance(incident_id, str) or not isinstance(linkedid, str) or not linkedid:
            log.error("call.incident_reported without incident_id/linkedid skipped: %s", payload)
            return
        at = _instant(payload.get("at"))
        caller = payload.get("caller_num") or None
        store = self.store

        async def merge() -> None:
            try:
                result = await store.merge_incident_report(incident_id, linkedid, caller, at)
            except KeyError:
                log.error(
                    "report of call %s names unknown incident %s; skipped", linkedid, incident_id
                )
                return
            self.reports += 1
            log.info(
                "call %s merged into incident %s (ticket %s, %s callers)",
                linkedid,
                incident_id,
                result.get("ticket_number"),
                result.get("merged_callers"),
            )

        await self._retry(merge, f"incident report {payload}")

    async def _on_survey(self, topic: str, payload: dict[str, Any]) -> None:
        linkedid = payload.get("linkedid")
        if not isinstance(linkedid, str) or not linkedid:
            log.error("call.survey without linkedid skipped: %s", payload)
            return
        answer = payload.get("answer") or "none"
        digit = SURVEY_KEYS.get(str(answer))
        at = _instant(payload.get("at"))
        store = self.store

        async def record() -> None:
            try:
                new = await store.record_survey(linkedid, str(answer), at, digit)
            except ValueError as error:
                log.error("survey of call %s skipped: %s", linkedid, error)
                return
            if not new:
                log.info("call %s already rated; second survey answer ignored", linkedid)
                return
            self.surveys += 1
            # With the linkedid the answer counts for that call's queue, agents and hour.
            self.kpi.add_survey(str(answer), linkedid)

        await self._retry(record, f"survey {payload}")

    async def _retry(self, write: Callable[[], Awaitable[None]], what: str) -> None:
        """Retry a database write through a short outage; give up loudly, with the event."""
        interval = self.retry_interval
        # A fixed pace (retry_interval apart): the caller of a survey waits for nothing.
        pace = Backoff(interval, interval, jitter=False)
        await retry(write, pace, attempts=STORE_ATTEMPTS, what=f"storing {what}", log=log)


def _instant(value: Any) -> dt.datetime:
    """An event's time (the PBX's epoch seconds); now when missing or unreadable (the event
    is still worth keeping)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        try:
            return dt.datetime.fromtimestamp(value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return dt.datetime.now(dt.UTC)
