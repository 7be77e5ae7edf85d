"""The running system: what starts and stops, in what order. Each capability is built and
connected to the bus by its wiring module (hotline/wiring/, hotline/ivr_wiring.py).

Start order: store → writer → today's KPIs → bus → IVR → web → MQTT → AMI feed (last, so
that no event arrives before everything that consumes it is up). Stop is the reverse.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from acd.ami.link import AmiLink
from acd.calls import CallTracker
from acd.feed import AmiFeed
from hotline.bus import Bus
from hotline.ivr_wiring import IvrSide
from hotline.live_view import TrackerLiveView
from hotline.mqtt import MqttBridge
from hotline.settings import Settings
from hotline.wiring import calls, kpi, mqtt, tickets
from hotline.wiring.web import WebServer
from ticketing.store import TicketStore
from ticketing.writer import BufferedCallWriter


class HotlineService:
    """The hotline pipeline: ``await start()``, run, ``await stop()``."""

    def __init__(self, settings: Settings, *, now: Callable[[], float] | None = None) -> None:
        self.settings = settings
        # "Today" for the live KPIs is the PBX's today: the latest event Timestamp seen.
        self._now = now or self._pbx_now
        self.bus = Bus()
        self.kpi = kpi.build_live_kpi(settings, self._now)
        self.sink = calls.RecordSink(self.kpi)
        # The one PBX followed (the first of the settings' list, for now).
        self.feed: AmiFeed = calls.build_feed(
            settings,
            settings.pbx_servers()[0],
            publish=self.bus.publish,
            on_record=self.sink,
            now=self._now,
        )
        # One clock for the live view and the wallboard's durations (the simulated one in the demo).
        self.live = TrackerLiveView(
            self.tracker, self.kpi, [q.name for q in settings.pbx.queues], clock=self._now
        )
        # Given a clock (the demo's simulated one), the IVR's hours and incidents follow it too.
        ivr_clock = None if now is None else (lambda: datetime.fromtimestamp(self._now(), UTC))
        self.ivr = IvrSide(settings, bus=self.bus, kpi=self.kpi, clock=ivr_clock)
        self.store: TicketStore | None = None
        self.writer: BufferedCallWriter | None = None
        self.mqtt: MqttBridge | None = None
        self.web: WebServer | None = None

    def _pbx_now(self) -> float:
        clock = self.feed.tracker.clock if hasattr(self, "feed") else 0.0
        return clock if clock > 0 else time.time()

    @property
    def tracker(self) -> CallTracker:
        return self.feed.tracker

    @property
    def link(self) -> AmiLink | None:
        return self.feed.link

    @property
    def records(self) -> int:
        """Call legs finished since start."""
        return self.sink.records

    @property
    def catching_up(self) -> bool:
        """True while the post-login resync holds live events back."""
        return self.feed.catching_up

    @property
    def web_port(self) -> int | None:
        return self.web.port if self.web is not None else None

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self, *, web_enabled: bool = True) -> None:
        settings = self.settings
        self.store = await tickets.open_store(settings)
        self.writer = self.sink.writer = tickets.start_writer(self.store, settings)
        await kpi.load_today(self.kpi, self.store, self._now())
        await self.bus.start()
        await self.ivr.start(self.store)
        if web_enabled:
            self.web = WebServer(
                settings,
                self.bus,
                self.live,
                self.health,
                store=self.store,
                incidents=self.ivr.desk,
                clock=self._now,
            )
            await self.web.start()
        if settings.mqtt.enabled:
            self.mqtt = await mqtt.start_bridge(settings, self.bus)
        await self.feed.start(last_stored_end=await self.store.latest_call_end())

    async def stop(self) -> None:
        await self.feed.stop()
        await self.ivr.stop()
        if self.web is not None:
            await self.web.stop()
        if self.mqtt is not None:
            await self.mqtt.stop()
        await self.bus.stop()
        if self.writer is not None:
            await self.writer.stop()
        if self.store is not None:
            await self.store.close()

    # ---- health ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        components: dict[str, Any] = {}
        if self.feed.link is not None:
            components["ami"] = self.feed.health()
        if self.writer is not None:
            status = dict(self.writer.status())
            components["database"] = {**status, "ok": bool(status.get("db_ok"))}
        if self.mqtt is not None:
            components["mqtt"] = dict(self.mqtt.status())
        components["bus"] = self.bus.status()
        components.update(self.ivr.health())
        return components
