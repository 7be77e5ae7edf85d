"""``hotline ivr``: the FastAGI IVR as a process of its own, next to (or far from) the service.

It reads the same settings as ``hotline serve`` (menus, queues, hours, database) and shares
nothing else with it. What it decides for a call travels with the call as HOTLINE_* channel
variables, which the service's call tracker reads from AMI; the service alone writes what
follows from them (incident merges 并单, survey answers). This process only *reads* the
database: tickets for menu key 6, and the active incidents.

Incidents reach it by polling the incidents table (``IncidentPoller``, every
``INCIDENT_POLL_S``): any number of IVR processes, on any host that reaches the database,
see an incident within a second of the service storing it — no broker needed and nothing
missed while an IVR process restarts (it reads the current state, not a stream).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from hotline.blocklist_poller import BlocklistPoller
from hotline.ivr_build import RunningIvr, start_ivr
from hotline.settings import Settings
from ivr.blocklist import BlockedCallers
from ivr.incidents import Incident, IncidentBoard, IncidentError, utc_now
from ticketing.blocklist import NumberBlocklist
from ticketing.store import TicketStore
from working_days import WorkingCalendar

log = logging.getLogger(__name__)

# Seconds between two reads of the active incidents: "within a second of being published".
INCIDENT_POLL_S = 0.5


class IncidentPoller:
    """Keeps an IVR process's incident board equal to the incidents stored as not ended.

    The whole (small) set of not-ended incidents is read each time rather than changes since
    a watermark: a row committed late, or stamped by a host whose clock is behind, cannot be
    missed, and an incident ended or deleted simply drops out.
    """

    def __init__(
        self, store: TicketStore, board: IncidentBoard, *, interval: float = INCIDENT_POLL_S
    ) -> None:
        self.store = store
        self.board = board
        self.interval = interval
        self.ok = False
        self.refreshes = 0
        self._bad: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> None:
        """One read of the stored incidents onto the board (raises if the store fails)."""
        stored: list[Incident] = []
        for data in await self.store.incidents(active_only=True):
            fields = {k: v for k, v in data.items() if k != "ticket_number"}
            try:
                stored.append(Incident.from_json(fields))
            except IncidentError as error:
                if data.get("id") not in self._bad:
                    self._bad.add(str(data.get("id")))
                    log.error("stored incident %s not announced: %s", data.get("id"), error)
        changed, ended = self.board.sync_pending(stored)
        for incident_id in changed:
            log.info("incident %s announced by this IVR", incident_id)
        for incident_id in ended:
            log.info("incident %s no longer announced by this IVR", incident_id)
        self.refreshes += 1

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ivr-incidents")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as error:
                # The board keeps what it had: callers still hear the known incidents.
                if self.ok:
                    log.warning("incidents not read from the database (%s); retrying", error)
                self.ok = False
            else:
                if not self.ok:
                    log.info("incidents read from the database")
                self.ok = True
            await asyncio.sleep(self.interval)


class IvrProcess:
    """The FastAGI IVR alone: ``await start()``, serve, ``await stop()``."""

    def __init__(
        self, settings: Settings, *, clock: Callable[[], dt.datetime] | None = None
    ) -> None:
        self.settings = settings
        self.clock = clock or utc_now
        self.board = IncidentBoard(clock=self.clock)
        self.calendar = WorkingCalendar()
        self.store: TicketStore | None = None
        self.poller: IncidentPoller | None = None
        self.blocked = BlockedCallers()
        self.blocklist: BlocklistPoller | None = None
        self.ivr: RunningIvr | None = None

    @property
    def port(self) -> int | None:
        return self.ivr.server.port if self.ivr is not None else None

    async def start(self) -> None:
        settings = self.settings
        self.store = await TicketStore.open(settings.database.url, timezone=settings.site.timezone)
        self.poller = IncidentPoller(self.store, self.board)
        try:
            await self.poller.refresh()
        except Exception as error:
            log.warning("incidents not read at start (%s); polling goes on", error)
        self.blocklist = BlocklistPoller(NumberBlocklist(self.store.engine), self.blocked)
        try:
            await self.blocklist.refresh()
        except Exception as error:
            log.warning("blocklist not read at start (%s); polling goes on", error)
        self.ivr = await start_ivr(
            settings, self.board, _log_event, self.store, self.clock, self.calendar, self.blocked
        )
        self.poller.start()
        self.blocklist.start()

    async def stop(self) -> None:
        if self.poller is not None:
            await self.poller.stop()
        if self.blocklist is not None:
            await self.blocklist.stop()
        if self.ivr is not None:
            await self.ivr.server.stop()
        if self.store is not None:
            await self.store.close()

    def health(self) -> dict[str, Any]:
        server = self.ivr.server if self.ivr is not None else None
        return {
            "ivr": {
                "ok": server is not None,
                "port": server.port if server is not None else None,
                "active": server.active_sessions if server is not None else 0,
                "served": server.sessions_served if server is not None else 0,
            },
            "incidents": {"ok": self.poller is not None and self.poller.ok},
            "blocklist": self.blocklist.status() if self.blocklist else {"ok": False},
            **({"calendar": c} if (c := self.calendar.health()) is not None else {}),
        }


def _log_event(topic: str, payload: dict[str, Any]) -> None:
    # Alone, the IVR's own events (ivr.*) have no subscriber: what a record needs went to
    # the channel. They are kept in the debug log, one line each.
    log.debug("%s %s", topic, payload)
