"""Web: the aiohttp app on its port; the wallboard push hears every domain event."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from acd.staffing import StaffingPlanner
from events.topics import AGENT_STATUS, CASE_EVERY, EVERY_TOPIC
from hotline.agent_desk import AgentDesk
from hotline.bus import Bus
from hotline.settings import Settings
from hotline.supervision import SpyDesk
from hotline.web.app import (
    AGENT_PUSHES,
    CASE_PUSHES,
    PUSHER,
    SCREEN_POPS,
    HealthCheck,
    IncidentSink,
    LiveView,
    create_app,
)
from ticketing.store import TicketStore
from warning.service import EarlyWarning


class WebServer:
    """``await start()`` serves the app; ``port`` is the real one (settings may say 0)."""

    def __init__(
        self,
        settings: Settings,
        bus: Bus,
        live: LiveView,
        health: HealthCheck,
        *,
        store: TicketStore | None,
        incidents: IncidentSink | None,
        agents: AgentDesk | None = None,
        clock: Callable[[], float] = time.time,
        spy: SpyDesk | None = None,
        warning: EarlyWarning | None = None,
        staffing: StaffingPlanner | None = None,
        exclusions_changed: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.live = live
        self.health = health
        self.store = store
        self.incidents = incidents
        self.agents = agents
        self.clock = clock  # the service's one clock: the wallboard's durations use it
        self.spy = spy
        self.warning = warning
        self.staffing = staffing
        self.exclusions_changed = exclusions_changed
        self.app: web.Application | None = None
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = create_app(
            self.live,
            self.health,
            store=self.store,
            settings=self.settings,
            incidents=self.incidents,
            agents=self.agents,
            clock=self.clock,
            desk_agents=self.agents,  # the agent table says whose desk a ringing phone is
            spy=self.spy,
            warning=self.warning,
            staffing=self.staffing,
            exclusions_changed=self.exclusions_changed,
        )
        self.app = app
        self.bus.subscribe(EVERY_TOPIC, app[PUSHER].poke, name="wallboard")
        pops = app[SCREEN_POPS]
        self.bus.subscribe(pops.topics, pops.on_event, name="screen-pops")
        self.bus.subscribe(AGENT_STATUS, app[AGENT_PUSHES].on_event, name="desk-agent-state")
        if CASE_PUSHES in app:  # a chase reaches the unit's open console at once
            self.bus.subscribe(CASE_EVERY, app[CASE_PUSHES].poke, name="case-consoles")
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.web.host, self.settings.web.port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.settings.web.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
