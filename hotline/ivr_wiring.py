"""The IVR room of the service: builds its parts and subscribes them, nothing more.

- the FastAGI IVR (hotline/ivr_build.py) when ``ivr.enabled``; otherwise it runs as
  ``hotline ivr`` (hotline/ivr_process.py), in another process or on another host;
- the incident desk (hotline/incident_desk.py) of the web API, and its MQTT input
  (hotline/incident_mqtt.py) when ``mqtt.enabled``;
- the writer of what the IVR decided that the database keeps (hotline/ivr_outcome_store.py):
  incident merges (并单) and survey answers, from the call tracker's ``call.incident_reported``
  and ``call.survey``, i.e. from the IVR's HOTLINE_* channel variables seen on AMI. The IVR
  and the tracker share nothing else, so the records are the same wherever the IVR runs.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from acd.kpi import LiveKpi
from hotline.blocklist_poller import BlocklistPoller
from hotline.bus import Bus
from hotline.incident_desk import IncidentDesk
from hotline.incident_mqtt import IncidentMqttInput
from hotline.ivr_build import start_ivr
from hotline.ivr_outcome_store import IvrOutcomeStore
from hotline.settings import Settings
from ivr.app import IvrApplication
from ivr.blocklist import BlockedCallers
from ivr.fastagi import FastAgiServer
from ivr.incidents import IncidentBoard, utc_now
from ticketing.blocklist import NumberBlocklist
from ticketing.store import TicketStore
from working_days import WorkingCalendar

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


class IvrSide:
    """Owns the service's FastAGI IVR (if enabled), the incident desk and the IVR's writers."""

    def __init__(
        self,
        settings: Settings,
        *,
        bus: Bus,
        kpi: LiveKpi,
        clock: Clock | None = None,
        calendar: WorkingCalendar | None = None,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.kpi = kpi
        self.clock: Clock = clock or utc_now
        # The working days of the queues' hours; its years without data show in /healthz.
        self.calendar = calendar or WorkingCalendar()
        self.board = IncidentBoard(clock=self.clock)
        self.desk = IncidentDesk(
            self.board,
            announcements_file=settings.pbx.announcements_file,
            publish=bus.publish,
            sounds_dir=settings.pbx.sounds_dir,
        )
        self.outcomes: IvrOutcomeStore | None = None
        self.app: IvrApplication | None = None
        self.server: FastAgiServer | None = None
        self.mqtt_input: IncidentMqttInput | None = None
        # Nuisance numbers, read from the database like an IVR process reads them.
        self.blocked = BlockedCallers()
        self.blocklist: BlocklistPoller | None = None

    @property
    def port(self) -> int | None:
        """The FastAGI port (the real one when configured as 0); None when the IVR is off."""
        return self.server.port if self.server is not None else None

    @property
    def surveys(self) -> int:
        return self.outcomes.surveys if self.outcomes is not None else 0

    @property
    def reports(self) -> int:
        return self.outcomes.reports if self.outcomes is not None else 0

    async def start(self, store: TicketStore) -> None:
        self.desk.store = store
        loaded = await self.desk.load()
        if loaded:
            log.info("%d stored incident(s) back on the IVR's board", loaded)
        self.outcomes = IvrOutcomeStore(
            store, self.kpi, retry_interval=self.settings.database.retry_interval
        )
        self.outcomes.subscribe(self.bus)
        if self.settings.ivr.enabled:
            self.blocklist = BlocklistPoller(NumberBlocklist(store.engine), self.blocked)
            try:
                await self.blocklist.refresh()
            except Exception as error:
                log.warning("blocklist not read at start (%s); polling goes on", error)
            self.blocklist.start()
            running = await start_ivr(
                self.settings, self.board, self.bus.publish, store, self.clock, self.calendar,
                self.blocked,
            )  # fmt: skip
            self.app, self.server = running.app, running.server
            self.desk.language = running.language
        if self.settings.mqtt.enabled:
            self.mqtt_input = IncidentMqttInput(self.settings.mqtt, self.desk)
            await self.mqtt_input.start()

    async def stop(self) -> None:
        if self.mqtt_input is not None:
            await self.mqtt_input.stop()
        if self.server is not None:
            await self.server.stop()
        if self.blocklist is not None:
            await self.blocklist.stop()

    def health(self) -> dict[str, Any]:
        """The IVR's components for /healthz.

        ``calendar`` appears only once a date beyond the holiday data was asked about. It is
        a warning (``"ok": True``), not a failure: calls are still routed (Monday–Friday
        count as working days), and a 503 would make monitors take a working hotline out.
        """
        components: dict[str, Any] = {}
        calendar = self.calendar.health()
        if calendar is not None:
            components["calendar"] = calendar
        if self.server is not None:
            components["ivr"] = {
                "ok": True,
                "port": self.server.port,
                "active": self.server.active_sessions,
                "served": self.server.sessions_served,
                "peak": self.server.peak_sessions,
            }
        elif not self.settings.ivr.enabled:
            components["ivr"] = {"ok": True, "elsewhere": True}
        if self.blocklist is not None:
            components["blocklist"] = self.blocklist.status()
        if self.mqtt_input is not None:
            components["mqtt_incidents"] = self.mqtt_input.status()
        if self.desk.unsaved:
            components["incidents"] = {"ok": False, "unsaved": sorted(self.desk.unsaved)}
        return components
