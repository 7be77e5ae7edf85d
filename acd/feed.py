"""The AMI feed of one PBX: its AMI link, call tracker, queue_log and CDR tails, and resync.

One ordered consumer per Asterisk: AMI events go to its ``CallTracker`` in wire order;
after every login the feed catches up with what happened while nobody listened
(CoreShowChannels, QueueStatus, and the queue_log and cdr_csv lines written meanwhile) and
holds live events back until that snapshot is applied. Finished legs go to ``on_record``,
domain events to ``publish``; the feed knows nothing of the store, the bus or the web.

Several PBXs: build one ``AmiFeed`` per Asterisk, each with its own endpoint and log paths.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acd.agents.board import AgentBoard
from acd.ami.link import AmiError, AmiLink
from acd.ami.message import AmiMessage
from acd.calls import CallTracker, OnRecord, Publish
from acd.cdr_csv import CdrCsvTail, CdrEntry
from acd.line_tail import line_start_near_end
from acd.queue_log import QueueLogEntry, QueueLogTail, legs_from_queue_log
from acd.records import DEFAULT_PBX, CallRecord
from acd.spy import Spy
from acd.tracker.recovery import live_channels
from acd.tracker.traces import recordings_in
from asterisk_conf.channel_vars import CDR_USERFIELD, CHOICE, QUEUE

log = logging.getLogger(__name__)

# How much queue_log history is kept in memory to close calls that ended during an outage.
QUEUE_LOG_WINDOW_S = 4 * 3600
QUEUE_LOG_POLL_S = 15.0
# At a restart, calls that ended up to this long before the newest stored one are looked for
# again in queue_log: a crash can lose the last records before they were stored (the store
# drops those it already has).
RESTART_MARGIN_S = 60.0
# How much of cdr_csv's end a restart reads (some 60 000 calls' lines).
CDR_RESTART_BYTES = 16 * 1024 * 1024
# Getvar actions in flight at once after a reconnect.
GETVAR_CONCURRENCY = 4


@dataclass(frozen=True, slots=True)
class AmiEndpoint:
    """Where and how to log in to one Asterisk's manager interface."""

    host: str
    port: int
    username: str
    secret: str
    ping_interval: float = 10.0
    ping_timeout: float = 5.0
    action_timeout: float = 10.0
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0


@dataclass(frozen=True, slots=True)
class PbxLogs:
    """The files one Asterisk writes that the resync reads: queue_log, cdr_csv's Master.csv
    and the recordings MixMonitor writes (None: not readable here)."""

    queue_log: Path
    cdr_csv: Path
    recordings: Path | None = None


class AmiFeed:
    """One PBX's AMI events → call records and domain events: ``await start()``, ``stop()``.

    Exceptions raised by ``on_record`` are logged by the tracker and do not stop the feed.
    """

    def __init__(
        self,
        endpoint: AmiEndpoint,
        logs: PbxLogs,
        *,
        name: str = DEFAULT_PBX,
        publish: Publish | None,
        on_record: OnRecord | None,
        entry_contexts: Iterable[str],
        now: Callable[[], float] | None = None,
        agents: AgentBoard | None = None,
    ) -> None:
        self.endpoint = endpoint
        # The live agent state machine (acd.agents), fed the same ordered events and resynced
        # from the same QueueStatus answer; None: nobody needs it (replay, benchmarks).
        self.agents = agents
        # Listen / whisper / barge sessions on this PBX (acd.spy), set by the wiring; its
        # events (ChanSpyStart/Stop, the spyer's Hangup and DTMF) come in wire order too.
        self.spy: Spy | None = None
        # The PBX's name (Asterisk's systemname): uniqueids are unique per PBX only, so every
        # record carries it (a call's key is (pbx, uniqueid#leg)).
        self.name = name
        self._on_record = on_record
        self.tracker = CallTracker(
            publish=publish, on_record=self._stamp, entry_contexts=entry_contexts, pbx=name
        )
        # "Now" for trimming the kept history: the caller's clock (the demo's simulated one)
        # or, by default, the PBX's own: the latest event Timestamp seen.
        self._now = now or self._pbx_now
        self.link: AmiLink | None = None
        self._queue_log = QueueLogTail(logs.queue_log)
        self._recent_log: deque[QueueLogEntry] = deque()
        # cdr_csv, for the callers who hang up in the IVR during an outage (no queue_log line).
        self._cdr_csv = CdrCsvTail(logs.cdr_csv)
        self._recent_cdr: deque[CdrEntry] = deque()
        self._recording_of = recordings_in(logs.recordings)
        self._queue_log_lock = asyncio.Lock()
        self._resyncing = False
        self._stopping = False
        self._held: list[AmiMessage] = []
        self._poller: asyncio.Task[None] | None = None

    def _stamp(self, record: CallRecord) -> None:
        # Before on_record and before call.ended is published: both carry the PBX.
        record.pbx = self.name
        if self._on_record is not None:
            self._on_record(record)

    def _pbx_now(self) -> float:
        clock = self.tracker.clock
        return clock if clock > 0 else time.time()

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self, *, last_stored_end: float | None) -> None:
        """Read the logs' history, then connect (the AMI link last: events come at once).

        ``last_stored_end``: when the newest stored call ended (None: nothing stored yet);
        the downtime since then is treated as an AMI outage that began then.
        """
        since = self._downtime_start(last_stored_end)
        await self._catch_up_queue_log(since)
        await self._catch_up_cdr(since)
        self._poller = asyncio.create_task(self._poll_queue_log(), name="queue-log")
        ep = self.endpoint
        self.link = AmiLink(
            ep.host,
            ep.port,
            ep.username,
            ep.secret,
            on_message=self._on_message,
            on_connected=self._on_connected,
            on_disconnected=self._on_disconnected,
            ping_interval=ep.ping_interval,
            ping_timeout=ep.ping_timeout,
            action_timeout=ep.action_timeout,
            reconnect_min=ep.reconnect_min,
            reconnect_max=ep.reconnect_max,
        )
        await self.link.start()

    async def stop(self) -> None:
        self._stopping = True
        if self.link is not None:
            await self.link.stop()
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None

    @property
    def catching_up(self) -> bool:
        """True while the post-login resync holds live events back."""
        return self._resyncing or bool(self._held)

    def health(self) -> dict[str, Any]:
        """The link's state for /healthz (``ok``: logged in)."""
        if self.link is None:
            return {"connected": False, "ok": False}
        state = dict(self.link.state)
        return {**state, "ok": bool(state.get("connected"))}

    # ---- AMI → tracker ---------------------------------------------------------------------

    def _on_message(self, msg: AmiMessage) -> None:
        if self._resyncing:
            # Events that arrive while the catch-up snapshot is taken are applied after it.
            self._held.append(msg)
            return
        self._consume(msg)

    def _consume(self, msg: AmiMessage) -> None:
        self.tracker.handle(msg)
        # The name checks here, not in a call: the board wants ~1 % of the events. ``name``,
        # not ``fields[0]``: a frame's name is read off its first line, while ``fields``
        # splits every line of every event (the ~56 % the tracker never splits). Asked once.
        name = msg.name
        agents = self.agents
        if agents is not None and name in agents.wanted:
            agents.handle(msg)
        spy = self.spy
        if spy is not None and name in spy.wanted:
            spy.handle(msg)

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
            learned = await self._ask_missed_vars(live_channels(channels) or {})
            # A fresh start with no event and no queue_log line: nothing of the PBX dates the
            # snapshot, so the feed's clock does (the demo's simulated one; else the wall's,
            # as the tracker would take itself) — not the wall clock whatever the PBX's time.
            fresh = self.tracker.clock <= 0 and not self._recent_log
            closed = self.tracker.resync(
                channels,
                status,
                list(self._recent_log),
                list(self._recent_cdr),
                recording_of=self._recording_of,
                learned=learned,
                now=self._now() if fresh else None,
            )
            if closed:
                log.info("AMI resync closed %d call leg(s) from queue_log", len(closed))
            if self.agents is not None:
                # The feed's clock, not the tracker's: on a fresh start with no event yet the
                # tracker dates its snapshot by the wall clock, and a board dated so would never
                # follow a PBX (the demo's simulated one) whose time is behind it.
                self.agents.resync(status, now=self._now())
        except AmiError as error:
            log.error("AMI resync failed: %s; carrying on with live events", error)
        finally:
            held, self._held = self._held, []
            self._resyncing = False
            for msg in held:
                self._consume(msg)

    async def _ask_missed_vars(self, alive: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        """The variables a live call may have set while nobody listened, asked of its channel
        (AMI Getvar) for the resync to apply before it closes anything: all the IVR's for a
        hotline channel not tracked yet, or still without a route; MixMonitor's file for a
        call without one. ``alive``: CoreShowChannels' channels by uniqueid.

        A few at a time, and none more once the PBX refuses the action: the catch-up holds
        live events back meanwhile.
        """
        ivr_names = [var.name for var in (QUEUE, *CDR_USERFIELD)]
        asks: list[tuple[str, str, str]] = []
        for uid, headers in alive.items():
            call = self.tracker.calls.get(uid)
            channel = headers.get("Channel", "")
            if not channel:
                continue
            if call is None:
                if not self.tracker.may_be_call(headers):
                    continue
                names = [*ivr_names, "MIXMONITOR_FILENAME"]
            else:
                names = ivr_names if CHOICE.name not in call.vars else []
                if call.recording is None:
                    names = [*names, "MIXMONITOR_FILENAME"]
            asks += [(uid, channel, name) for name in names]
        learned: dict[str, dict[str, str]] = {}
        if not asks:
            return learned
        refused: list[str] = []
        gate = asyncio.Semaphore(GETVAR_CONCURRENCY)

        async def ask(uid: str, channel: str, name: str) -> None:
            async with gate:
                if refused:
                    return
                try:
                    value = await self._getvar(channel, name, refused)
                except AmiError as error:
                    log.debug("Getvar %s of %s: %s", name, uid, error)
                    return
            if value:
                learned.setdefault(uid, {})[name] = value

        await asyncio.gather(*(ask(*one) for one in asks))
        if refused:
            log.warning(
                "AMI Getvar refused (%s): calls that set variables while nobody listened "
                "keep only what their CDR and the recordings directory tell",
                refused[0],
            )
        return learned

    async def _getvar(self, channel: str, name: str, refused: list[str]) -> str | None:
        assert self.link is not None
        reply = await self.link.send_action(
            [("Action", "Getvar"), ("Channel", channel), ("Variable", name)]
        )
        if reply.name == "Success":
            return reply.get("Value")
        message = reply.get("Message") or reply.name
        # A channel gone meanwhile answers an error (its CDR tells the rest); a PBX without
        # the action, or a login without the right, refuses every one.
        if "denied" in message.lower() or "unknown command" in message.lower():
            refused.append(message)
        return None

    # ---- queue_log and cdr_csv -------------------------------------------------------------

    def _downtime_start(self, last_stored_end: float | None) -> float:
        """Since when nobody listened: the newest stored call's end; with nothing stored (a
        first start, or the service stopped before any call ended), the whole window of
        history kept for outages, so that the calls made while the service was down and
        those still in progress are not dropped. The store and the tracker never take a
        call twice, so a call already stored (say, by `hotline replay`) is not counted again.
        """
        if last_stored_end is not None:
            return last_stored_end
        return self._now() - QUEUE_LOG_WINDOW_S

    async def _catch_up_queue_log(self, since: float) -> None:
        """Restart continuity: calls that ended while the service was down are in queue_log.

        Its history from shortly before the newest stored call's end is kept for the first
        resync, which treats the downtime as an AMI outage that began then (``since``: see
        `_downtime_start`).
        """
        path = self._queue_log.path
        cutoff = since - RESTART_MARGIN_S
        try:
            entries = await asyncio.to_thread(self._queue_log.read_new)
        except OSError as error:
            log.warning("cannot read queue_log %s: %s", path, error)
            entries = []
        # Whole calls: a call that ended in the downtime may have joined its queue long before,
        # and one still talking may have written its last line (CONNECT) long before: a visit
        # queue_log has not closed is kept whatever its age, for the resync to find it open.
        recent = {e.callid for e in entries if e.is_call and e.time >= cutoff}
        recent.update(leg.callid for leg in legs_from_queue_log(entries) if leg.outcome is None)
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

    async def _catch_up_cdr(self, since: float) -> None:
        """Restart continuity for the callers who hung up in the IVR while the service was
        down (no queue_log line tells of them): cdr_csv from the newest stored call's end on.

        Master.csv is never rotated by Asterisk and grows for years: only its last
        CDR_RESTART_BYTES are read.
        """
        path = self._cdr_csv.path
        try:
            start = await asyncio.to_thread(line_start_near_end, path, CDR_RESTART_BYTES)
            self._cdr_csv = CdrCsvTail(path, start)
            entries = await asyncio.to_thread(self._cdr_csv.read_new)
        except OSError as error:
            if path.exists():
                log.warning("cannot read cdr_csv %s: %s", path, error)
            return
        self._recent_cdr.extend(e for e in entries if e.end >= since - RESTART_MARGIN_S)
        self._trim_queue_log()

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
