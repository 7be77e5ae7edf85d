"""The running system: what starts and stops, in what order. Each capability is built and
connected to the bus by its wiring module (hotline/wiring/, hotline/ivr_wiring.py).

One AMI feed per PBX of the settings (``settings.pbx_servers()``): the same bus, KPIs and
store take every PBX's calls, which carry their PBX's name.

Start order: store → writer → today's KPIs → bus → case chases, recording retention and the
report rollups' refresher → IVR → early warning and the staffing planner → web → MQTT → AMI
feed (last, so that no event arrives before everything that consumes it is up). Stop is the
reverse.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from acd.ami.link import AmiLink
from acd.calls import CallTracker
from acd.feed import AmiFeed
from acd.staffing import StaffingPlanner
from hotline.bus import Bus
from hotline.ivr_wiring import IvrSide
from hotline.live_view import TrackerLiveView
from hotline.mqtt import MqttBridge
from hotline.recording_retention import RetentionJob
from hotline.settings import Settings
from hotline.wiring import (
    calls,
    cases,
    kpi,
    mqtt,
    recordings,
    rollups,
    staffing,
    tickets,
    warning,
)
from hotline.wiring.agents import AgentsSide
from hotline.wiring.health import HealthBoard
from hotline.wiring.web import WebServer
from ticketing.rollup.refresher import RollupRefresher
from ticketing.store import TicketStore
from ticketing.workflow.chase_scheduler import ChaseScheduler
from ticketing.writer import BufferedCallWriter
from warning.service import EarlyWarning


class HotlineService:
    """The hotline pipeline: ``await start()``, run, ``await stop()``."""

    def __init__(
        self,
        settings: Settings,
        *,
        now: Callable[[], float] | None = None,
        more_health: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.settings = settings
        # What /healthz reports: each part adds its probe as it starts.
        self.health = HealthBoard()
        # Components the service does not own but /healthz shows (the active lock's role).
        self._more_health = more_health
        # "Today" for the live KPIs is the PBX's today: the latest event Timestamp seen.
        self._now = now or self._pbx_now
        self.bus = Bus()
        self.kpi = kpi.build_live_kpi(settings, self._now)
        self.sink = calls.RecordSink(self.kpi)
        # The live agent state machines (one per PBX, fed by its feed) and the agent desk.
        self.agents = AgentsSide(settings, self.bus, clock=now)
        self.feeds: list[AmiFeed] = [
            calls.build_feed(
                settings,
                pbx,
                publish=self.bus.publish,
                on_record=self.sink,
                now=self._now,
                agents=self.agents.board_for(pbx.name),
            )
            for pbx in settings.pbx_servers()
        ]
        # One clock for the live view and the wallboard's durations (the simulated one in the demo).
        self.live = TrackerLiveView(
            [feed.tracker for feed in self.feeds],
            self.kpi,
            [q.name for q in settings.pbx.queues],
            clock=self._now,
            boards=list(self.agents.boards.values()),
        )
        # Given a clock (the demo's simulated one), the IVR's hours and incidents follow it too.
        ivr_clock = None if now is None else (lambda: datetime.fromtimestamp(self._now(), UTC))
        self.ivr = IvrSide(settings, bus=self.bus, kpi=self.kpi, clock=ivr_clock)
        self.store: TicketStore | None = None
        self.writer: BufferedCallWriter | None = None
        self.mqtt: MqttBridge | None = None
        self.chaser: ChaseScheduler | None = None
        self.retention: RetentionJob | None = None
        self.rollups: RollupRefresher | None = None
        self.web: WebServer | None = None
        self.warning: EarlyWarning | None = None
        self.staffing: StaffingPlanner | None = None
        self._needed_now: asyncio.Task[None] | None = None

    def _pbx_now(self) -> float:
        feeds = getattr(self, "feeds", [])
        clock = max((feed.tracker.clock for feed in feeds), default=0.0)
        return clock if clock > 0 else time.time()

    @property
    def feed(self) -> AmiFeed:
        """The first PBX's feed (the only one, with a single ``[ami]``)."""
        return self.feeds[0]

    @property
    def tracker(self) -> CallTracker:
        return self.feed.tracker

    def active_calls(self) -> int:
        """Calls in progress on every PBX."""
        return sum(len(feed.tracker.active_calls()) for feed in self.feeds)

    @property
    def link(self) -> AmiLink | None:
        return self.feed.link

    @property
    def records(self) -> int:
        """Call legs finished since start."""
        return self.sink.records

    @property
    def catching_up(self) -> bool:
        """True while a post-login resync holds live events back."""
        return any(feed.catching_up for feed in self.feeds)

    @property
    def web_port(self) -> int | None:
        return self.web.port if self.web is not None else None

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self, *, web_enabled: bool = True) -> None:
        settings = self.settings
        self.store = await tickets.open_store(settings)
        writer = self.writer = self.sink.writer = tickets.start_writer(self.store, settings)
        self.health.add("database", lambda: tickets.writer_health(writer))
        await kpi.load_today(self.kpi, self.store, self._now())
        await self.bus.start()
        self.health.add("bus", self.bus.status)
        chaser = self.chaser = cases.start_chaser(self.store, self.bus, settings, self._now)
        self.health.add("chases", chaser.status)
        self.retention = recordings.start_retention(self.store, settings)
        if self.retention is not None:
            self.health.add("recording_retention", self.retention.status)
        self.rollups = rollups.start_refresher(self.store, settings, self._now)
        if self.rollups is not None:
            self.health.add("rollups", self.rollups.status)
        await self.ivr.start(self.store)
        self.health.add_many(self.ivr.health)
        desk = await self.agents.start(self.store, self.feeds)
        self.warning = await warning.start_warning(
            settings, self.bus, self.store, self.ivr.desk, self._now
        )
        self.staffing = staffing.build_planner(settings, self.store, self._now)
        self._needed_now = staffing.start_needed_now(self.staffing)
        if web_enabled:
            self.web = WebServer(
                settings,
                self.bus,
                self.live,
                self.health,
                store=self.store,
                incidents=self.ivr.desk,
                agents=desk,
                clock=self._now,
                spy=self.agents.spy_desk,
                warning=self.warning,
                staffing=self.staffing,
                exclusions_changed=functools.partial(
                    kpi.reload_exclusions, self.kpi, self.store, self._now
                ),
            )
            await self.web.start()
        if settings.mqtt.enabled:
            bridge = self.mqtt = await mqtt.start_bridge(settings, self.bus)
            self.health.add("mqtt", bridge.status)
        for feed in self.feeds:
            # Each PBX's downtime began when its own newest stored call ended.
            await feed.start(last_stored_end=await self.store.latest_call_end(feed.name))
            self.health.add("ami" if len(self.feeds) == 1 else f"ami.{feed.name}", feed.health)
        if self._more_health is not None:
            self.health.add_many(self._more_health)

    async def stop(self) -> None:
        # The wrap-up timers first: with the AMI links closing, a pause or ready would fail.
        self.agents.stop()
        for feed in self.feeds:
            await feed.stop()
        await self.ivr.stop()
        await staffing.stop_needed_now(self._needed_now)
        if self.web is not None:
            await self.web.stop()
        if self.mqtt is not None:
            await self.mqtt.stop()
        if self.chaser is not None:
            await self.chaser.stop()
        if self.retention is not None:
            await self.retention.stop()
        if self.rollups is not None:
            await self.rollups.stop()
        await self.bus.stop()
        if self.warning is not None:
            await self.warning.stop()  # the growth of open suggestions, before the store closes
        await self.agents.flush()  # state log and call-back list, before the store closes
        if self.writer is not None:
            await self.writer.stop()
        if self.store is not None:
            await self.store.close()
