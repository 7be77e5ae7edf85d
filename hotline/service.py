"""Builds the running system from the settings and owns its start and stop order.

The only place where the rooms meet: the AMI link feeds the call tracker (acd), finished calls
go to the ticket store (ticketing) through a buffered writer and to today's KPI counters,
domain events go out on the bus (web push, MQTT).

Start order: store → writer → bus → tracker/KPIs → web → MQTT → AMI link (last, so that no
event arrives before everything that consumes it is up). Stop is the reverse.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from acd.ami.link import AmiError, AmiLink
from acd.ami.message import AmiMessage
from acd.calls import CallTracker
from acd.cdr_csv import CdrCsvTail, CdrEntry
from acd.kpi import KpiParams, LiveKpi
from acd.queue_log import QueueLogEntry, QueueLogTail
from acd.records import CallRecord
from events.topics import EVERY_TOPIC
from hotline.bus import Bus
from hotline.ivr_wiring import IvrSide
from hotline.live_view import TrackerLiveView
from hotline.mqtt import MqttBridge
from hotline.settings import Settings
from hotline.web.app import PUSHER, create_app
from ticketing.store import TicketStore
from ticketing.writer import BufferedCallWriter

log = logging.getLogger(__name__)

# How much queue_log history is kept in memory to close calls that ended during an outage.
QUEUE_LOG_WINDOW_S = 4 * 3600
QUEUE_LOG_POLL_S = 15.0
# At a restart, calls that ended up to this long before the newest stored one are looked for
# again in queue_log: a crash can lose the last records before they were stored (the store
# drops those it already has).
RESTART_MARGIN_S = 60.0


class HotlineService:
    """The hotline pipeline: ``await start()``, run, ``await stop()``."""

    def __init__(self, settings: Settings, *, now: Callable[[], float] | None = None) -> None:
        self.settings = settings
        # "Today" for the live KPIs is the PBX's today: the latest event Timestamp seen.
        self._now = now or self._pbx_now
        self.bus = Bus()
        self.kpi = LiveKpi(KpiParams.from_settings(settings.kpi), clock=self._now)
        self.tracker = CallTracker(
            publish=self.bus.publish,
            on_record=self._on_record,
            entry_contexts=[settings.pbx.inbound_context],
        )
        self.live = TrackerLiveView(self.tracker, self.kpi, [q.name for q in settings.pbx.queues])
        # The IVR, incidents and the IVR's events: hotline/ivr_wiring.py.
        # Given a clock (the demo's simulated one), the IVR's hours and incidents follow it too.
        ivr_clock = None if now is None else (lambda: datetime.fromtimestamp(self._now(), UTC))
        self.ivr = IvrSide(settings, bus=self.bus, kpi=self.kpi, clock=ivr_clock)
        self.store: TicketStore | None = None
        self.writer: BufferedCallWriter | None = None
        self.link: AmiLink | None = None
        self.mqtt: MqttBridge | None = None
        self._runner: web.AppRunner | None = None
        self.web_port: int | None = None
        # The one PBX followed (the first of the settings' list, for now).
        self._pbx = settings.pbx_servers()[0]
        self._queue_log = QueueLogTail(self._pbx.queue_log)
        self._recent_log: deque[QueueLogEntry] = deque()
        # cdr_csv, for the callers who hang up in the IVR during an outage (no queue_log line).
        self._cdr_csv = CdrCsvTail(self._pbx.cdr_csv)
        self._recent_cdr: deque[CdrEntry] = deque()
        self._queue_log_lock = asyncio.Lock()
        self._resyncing = False
        self._stopping = False
        self._held: list[AmiMessage] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self.records = 0

    def _pbx_now(self) -> float:
        clock = self.tracker.clock if hasattr(self, "tracker") else 0.0
        return clock if clock > 0 else time.time()

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self, *, web_enabled: bool = True) -> None:
        settings = self.settings
        self.store = await TicketStore.open(settings.database.url, timezone=settings.kpi.timezone)
        self.writer = BufferedCallWriter(
            self.store,
            settings.database.buffer_size,
            settings.database.retry_interval,
            settings.database.spill_path,
        )
        self.writer.start()
        await self._load_today()
        await self.bus.start()
        await self.ivr.start(self.store)
        if web_enabled:
            await self._start_web()
        if settings.mqtt.enabled:
            self.mqtt = MqttBridge.from_settings(settings.mqtt)
            self.mqtt.attach(self.bus, EVERY_TOPIC)
            await self.mqtt.start()
        await self._catch_up_queue_log()
        await self._skip_cdr_history()
        self._tasks.append(asyncio.create_task(self._poll_queue_log(), name="queue-log"))
        ami, pbx = settings.ami, self._pbx
        self.link = AmiLink(
            pbx.host,
            pbx.port,
            pbx.username,
            pbx.secret.get_secret_value(),
            on_message=self._on_message,
            on_connected=self._on_connected,
            on_disconnected=self._on_disconnected,
            ping_interval=ami.ping_interval,
            ping_timeout=ami.ping_timeout,
            action_timeout=ami.action_timeout,
            reconnect_min=ami.reconnect_min,
            reconnect_max=ami.reconnect_max,
        )
        await self.link.start()

    @property
    def catching_up(self) -> bool:
        """True while the post-login resync holds live events back."""
        return self._resyncing or bool(self._held)

    async def stop(self) -> None:
        self._stopping = True
        if self.link is not None:
            await self.link.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.ivr.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.mqtt is not None:
            await self.mqtt.stop()
        await self.bus.stop()
        if self.writer is not None:
            await self.writer.stop()
        if self.store is not None:
            await self.store.close()

    async def _start_web(self) -> None:
        app = create_app(
            self.live,
            self.health,
            store=self.store,
            settings=self.settings,
            incidents=self.ivr.desk,
        )
        pusher = app[PUSHER]
        self.bus.subscribe(EVERY_TOPIC, pusher.poke, name="wallboard")
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.web.host, self.settings.web.port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.web_port = sockets[0].getsockname()[1] if sockets else self.settings.web.port

    async def _load_today(self) -> None:
        """Restart continuity: today's stored calls and exclusion windows feed the live KPIs."""
        assert self.store is not None
        zone = self.kpi.snapshot().params.zone()
        midnight = datetime.fromtimestamp(self._now(), zone).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        tomorrow = midnight + timedelta(days=1)
        self.kpi.set_exclusions(await self.store.exclusions_between(midnight, tomorrow))
        for record in await self.store.calls_between(midnight, tomorrow):
            self.kpi.add(record)

    # ---- AMI → tracker ---------------------------------------------------------------------

    def _on_message(self, msg: AmiMessage) -> None:
        if self._resyncing:
            # Events that arrive while the catch-up snapshot is taken are applied after it.
            self._held.append(msg)
            return
        self.tracker.handle(msg)

    def _on_disconnected(self, reason: str) -> None:
        if self._stopping:
            log.info("AMI link closed (%s): the service is stopping", reason)
        else:
            log.warning("AMI link lost (%s); calls will be re-synchronised on reconnect", reason)
        self.tracker.connection_lost()

    async def _on_connected(self) -> None:
        """After every login: catch up with what happened while we were not listening."""
        assert self.link is not None
        self._resyncing = True
        try:
            channels = await self.link.send_list_action([("Action", "CoreShowChannels")])
            status = await self.link.send_list_action([("Action", "QueueStatus")])
            await self._read_queue_log()
            closed = self.tracker.resync(
                channels, status, list(self._recent_log), list(self._recent_cdr)
            )
            if closed:
                log.info("AMI resync closed %d call leg(s) from queue_log", len(closed))
        except AmiError as error:
            log.error("AMI resync failed: %s; carrying on with live events", error)
        finally:
            held, self._held = self._held, []
            self._resyncing = False
            for msg in held:
                self.tracker.handle(msg)

    def _on_record(self, record: CallRecord) -> None:
        record.pbx = self._pbx.name
        data = record.to_json()
        self.records += 1
        if self.writer is not None:
            self.writer.submit(data)
        self.kpi.add(data)

    # ---- queue_log -------------------------------------------------------------------------

    async def _catch_up_queue_log(self) -> None:
        """Restart continuity: calls that ended while the service was down are in queue_log.

        Its history from shortly before the newest stored call's end is kept for the first
        resync, which treats the downtime as an AMI outage that began then. With nothing
        stored yet, reading starts at the end: history is backfilled with `hotline replay`.
        """
        assert self.store is not None
        path = self._queue_log.path
        since = await self.store.latest_call_end()
        if since is None:
            try:
                stat = await asyncio.to_thread(path.stat)
            except OSError:
                return
            self._queue_log = QueueLogTail(path, (stat.st_ino, stat.st_size))
            return
        cutoff = since - RESTART_MARGIN_S
        try:
            entries = await asyncio.to_thread(self._queue_log.read_new)
        except OSError as error:
            log.warning("cannot read queue_log %s: %s", path, error)
            entries = []
        # Whole calls: a call that ended in the downtime may have joined its queue long before.
        recent = {e.callid for e in entries if e.is_call and e.time >= cutoff}
        self._recent_log.extend(
            e for e in entries if (e.callid in recent if e.is_call else e.time >= cutoff)
        )
        self._trim_queue_log()
        # Nobody listened from the newest stored call's end on: the first resync closes, from
        # queue_log, every call that ended since (those already stored are not stored twice).
        self.tracker.connection_lost(at=since)
        log.info(
            "queue_log read from %s: %d entries since the last stored call",
            path,
            len(self._recent_log),
        )

    async def _read_queue_log(self) -> None:
        # The poller and a resync may both read: one at a time, or the tail's offset tears.
        async with self._queue_log_lock:
            await self._read_queue_log_now()

    async def _read_queue_log_now(self) -> None:
        try:
            self._recent_log.extend(await asyncio.to_thread(self._queue_log.read_new))
        except OSError as error:
            log.warning("cannot read queue_log %s: %s", self._queue_log.path, error)
        try:
            self._recent_cdr.extend(await asyncio.to_thread(self._cdr_csv.read_new))
        except OSError as error:
            log.warning("cannot read cdr_csv %s: %s", self._cdr_csv.path, error)
        self._trim_queue_log()

    async def _skip_cdr_history(self) -> None:
        # Master.csv is never rotated by Asterisk and grows for years: only its tail from
        # now on is read.
        try:
            stat = await asyncio.to_thread(self._cdr_csv.path.stat)
        except OSError:
            return
        self._cdr_csv = CdrCsvTail(self._cdr_csv.path, (stat.st_ino, stat.st_size))

    def _trim_queue_log(self) -> None:
        # Until the pending resync has run, keep what it needs even after a long downtime.
        lost_at = self.tracker.lost_at
        now = self._now() if lost_at is None else min(self._now(), lost_at)
        horizon = now - QUEUE_LOG_WINDOW_S
        while self._recent_log and self._recent_log[0].time < horizon:
            self._recent_log.popleft()
        while self._recent_cdr and self._recent_cdr[0].end < horizon:
            self._recent_cdr.popleft()

    async def _poll_queue_log(self) -> None:
        while True:
            await asyncio.sleep(QUEUE_LOG_POLL_S)
            await self._read_queue_log()

    # ---- health ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        components: dict[str, Any] = {}
        if self.link is not None:
            state = dict(self.link.state)
            components["ami"] = {**state, "ok": bool(state.get("connected"))}
        if self.writer is not None:
            status = dict(self.writer.status())
            components["database"] = {**status, "ok": bool(status.get("db_ok"))}
        if self.mqtt is not None:
            status = dict(self.mqtt.status())
            components["mqtt"] = status
        components["bus"] = self.bus.status()
        components.update(self.ivr.health())
        return components
