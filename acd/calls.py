"""The AMI call tracker: one ordered consumer of the AMI event stream that turns it into
call records (one per call and queue leg), live domain events and wallboard state.

Pure and synchronous: no I/O, no clock of its own (it uses the events' ``Timestamp``), so
the real captures replay through it deterministically. The pitfalls it copes with are listed
in the captures' README (Local-channel pairs, QueueCallerLeave before AgentConnect,
AgentComplete without channel fields, timeout that looks like an abandon, joinempty without
queue events, transfer by a second QueueCallerJoin, …).

Domain events published (topic → payload keys; every call payload carries ``linkedid``,
``uniqueid``, ``channel``, ``caller_num``, ``caller_name`` and ``at``):

- ``call.started``: ``stage``
- ``call.ivr_finished``: ``ivr_digits``, ``ivr_choice``, ``priority``, ``queue``,
  ``agi_status``, ``vars``
- ``call.queued``: ``queue``, ``position``, ``priority``, ``leg``
- ``call.ringing``: ``queue``, ``leg``, ``member``, ``interface``, ``agent_channel``,
  ``ivr_digits``, ``ivr_choice``, ``priority``, ``vars`` (what a screen pop shows)
- ``call.ring_no_answer``: ``queue``, ``leg``, ``member``, ``interface``, ``ring_ms``
- ``call.answered``: ``queue``, ``leg``, ``member``, ``interface``, ``agent_channel``,
  ``wait_s``
- ``call.abandoned``: ``queue``, ``leg``, ``position``, ``wait_s`` (also sent for a Queue()
  timeout, which app_queue reports the same way; the final outcome is in ``call.ended``)
- ``call.left``: ``queue``, ``leg``, ``position``, ``count``
- ``call.spied``: ``queue``, ``leg``, ``spyer_channel``, ``spyee_channel``
- ``call.callback_requested``: ``queue``
- ``call.ended``: ``CallRecord.to_json()`` of one finished leg (exactly once per leg)
- ``agent.state``: ``acd.tracker.members.member_state`` keys plus ``at``

``call.queued`` and ``call.answered`` learnt during a resync carry ``recovered: True``.
Subscriber exceptions are logged and never interrupt the tracker.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from acd.ami.message import AmiMessage
from acd.queue_log import QueueLeg, QueueLogEntry, legs_from_queue_log
from acd.records import CallRecord, Outcome
from acd.tracker.members import MemberBoard
from acd.tracker.recovery import live_channels, parse_duration, queue_snapshot
from asterisk_conf.channel_vars import CHOICE, PREFIX, PRIORITY, QUEUE

log = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any]], None]
OnRecord = Callable[[CallRecord], None]

HOTLINE_PREFIX = PREFIX
# The only VarSets the tracker reads; everything else (~44 % of a stream) is dropped unparsed.
_CALL_VARS = frozenset({"QUEUESTATUS", "MIXMONITOR_FILENAME", "AGISTATUS"})
# Pseudo-applications of channels dialled by Dial()/Queue(): never a caller's own dialplan.
_OUTGOING_APPS = frozenset({"AppDial", "AppDial2", "AppQueue"})
# Queue() results that mean "no agent could ever take the call" (joinempty/leavewhenempty…).
_EMPTY_STATUSES = frozenset({"JOINEMPTY", "LEAVEEMPTY", "JOINUNAVAIL", "LEAVEUNAVAIL", "FULL"})
_DIGIT_COMMANDS = ("GET DATA", "GET OPTION", "WAIT FOR DIGIT")
_EMITTED_MEMORY = 200_000
# IVR outcomes whose call the tracker has not seen yet (the AMI stream lags the IVR): kept
# this many, for this many seconds of PBX time, then dropped with a log line.
_PENDING_IVR_MAX = 2_000
_PENDING_IVR_S = 300.0


def _caller_id(value: str | None) -> str | None:
    return None if value in (None, "", "<unknown>") else value


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def whole_seconds(start: float, end: float) -> int:
    """A duration the way app_queue counts it: difference of whole-second clocks."""
    return max(0, int(end) - int(start))


def reads_digits(command: str) -> bool:
    """Whether an AGI command returns the caller's key presses (GET DATA and friends).

    STREAM FILE only does when given escape digits: the IVR's ``STREAM FILE hello-world ""``
    ignores keys, and a key pressed then is not what the IVR received.
    """
    upper = command.upper()
    if upper.startswith(_DIGIT_COMMANDS):
        return True
    if upper.startswith(("STREAM FILE", "CONTROL STREAM FILE")):
        parts = command.split()
        offset = 3 if upper.startswith("STREAM") else 4
        return len(parts) > offset and parts[offset].strip('"') != ""
    return False


@dataclass(slots=True)
class Channel:
    """What the tracker remembers of any live channel (needed to start calls and resync)."""

    name: str
    uniqueid: str
    linkedid: str
    created_at: float
    caller_num: str | None = None
    caller_name: str | None = None


@dataclass(slots=True)
class Call:
    """A caller's hotline channel in flight, with its open queue leg (if any)."""

    uniqueid: str
    linkedid: str
    channel: str
    started_at: float
    caller_num: str | None = None
    caller_name: str | None = None
    since: float = 0.0
    digits: list[str] = field(default_factory=list)
    reading: set[str] = field(default_factory=set)
    agi_seen: bool = False
    ivr_done: bool = False
    ivr_ended_at: float | None = None
    ivr_choice: str | None = None
    ivr_path: list[str] = field(default_factory=list)
    priority: int | None = None
    vars: dict[str, str] = field(default_factory=dict)
    recording: str | None = None
    queue_app: tuple[str, float] | None = None
    legs_done: int = 0
    leg: CallRecord | None = None
    position: int | None = None
    ringing: dict[str, tuple[str | None, str | None, str | None]] = field(default_factory=dict)
    agent_uid: str | None = None
    abandon_at: float | None = None
    talk_end: float | None = None
    agent_gone: bool = False
    # The open leg was rebuilt from queue_log during a resync: a late QueueCallerJoin for
    # the same queue is that leg's own join, not a transfer.
    leg_from_log: bool = False
    last_closed: CallRecord | None = None
    # What the IVR itself reported (ivr.finished, see CallTracker.apply_ivr_outcome): the
    # menu nodes walked replace the HOTLINE_CHOICE history as the record's ivr_path.
    reported_path: list[str] | None = None
    reported_choice: str | None = None
    reported_digits: str | None = None
    incident_id: str | None = None
    callback_requested: bool = False
    language: str | None = None

    @property
    def stage(self) -> str:
        leg = self.leg
        if leg is None:
            # "routing": between queue visits or after the last one (callback step…).
            return "routing" if self.legs_done else "ivr"
        if leg.answered_at is not None or leg.answered_by is not None:
            return "talking"
        return "ringing" if self.ringing else "queued"


def _align(call: Call, log_legs: list[QueueLeg]) -> list[QueueLeg]:
    """Number queue_log's legs of a call like the tracker does: the entries handed to resync
    may start after the call's first queue visit, so anchor on a leg both know."""
    anchor = call.leg or call.last_closed
    if anchor is None or anchor.queue_entered_at is None or not log_legs:
        return log_legs
    entered = int(anchor.queue_entered_at)
    for found in log_legs:
        if found.queue == anchor.queue and abs(found.entered_at - entered) <= 1:
            shift = anchor.leg - found.leg
            break
    else:
        # Not in the entries: they all came after it.
        later = [f for f in log_legs if f.entered_at >= entered]
        shift = anchor.leg + 1 - (later[0].leg if later else 0)
    for found in log_legs:
        found.leg += shift
    return log_legs


class CallTracker:
    """Consumes AMI messages in order; see the module docstring for what it publishes."""

    def __init__(
        self,
        publish: Publish | None = None,
        on_record: OnRecord | None = None,
        *,
        entry_contexts: Iterable[str] = ("hotline-ivr",),
    ) -> None:
        self._publish = publish
        self._on_record = on_record
        self._entry_contexts = frozenset(entry_contexts)
        self.channels: dict[str, Channel] = {}
        self.calls: dict[str, Call] = {}
        # Agent-side channel (uniqueid and name) → caller uniqueid, while ringing or talking.
        self._agent_calls: dict[str, str] = {}
        self._emitted: OrderedDict[str, None] = OrderedDict()
        self.board = MemberBoard()
        self.clock = 0.0
        self.lost_at: float | None = None
        # uniqueid and linkedid → (PBX clock when it came, ivr.finished payload).
        self._pending_ivr: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._handlers: dict[str, Callable[[dict[str, str]], None]] = {
            "Newchannel": self._on_newchannel,
            "NewCallerid": self._on_newcallerid,
            "Newexten": self._on_newexten,
            "Hangup": self._on_hangup,
            "VarSet": self._on_varset,
            "DTMFEnd": self._on_dtmf,
            "AGIExecStart": self._on_agi_start,
            "AGIExecEnd": self._on_agi_end,
            "QueueCallerJoin": self._on_join,
            "QueueCallerLeave": self._on_leave,
            "QueueCallerAbandon": self._on_abandon,
            "AgentCalled": self._on_agent_called,
            "AgentRingNoAnswer": self._on_ring_no_answer,
            "AgentConnect": self._on_agent_connect,
            "AgentComplete": self._on_agent_complete,
            "BridgeEnter": self._on_bridge_enter,
            "BridgeLeave": self._on_bridge_leave,
            "ChanSpyStart": self._on_spy_start,
            "BlindTransfer": self._on_blind_transfer,
            "UserEvent": self._on_user_event,
        }
        for name in ("QueueMemberStatus", "QueueMemberPause", "QueueMemberAdded",
                     "QueueMemberRemoved", "QueueMemberPenalty", "QueueMemberRinginuse",
                     "QueueMember"):
            self._handlers[name] = self._member_handler(name)

    # ------------------------------------------------------------------ input

    def handle(self, msg: AmiMessage) -> None:
        # Look at the name first: most events are dropped here without splitting their lines.
        if msg.kind != "event":
            return
        name = msg.name
        handler = self._handlers.get(name)
        if handler is None:
            return
        if name == "VarSet":
            # Drop the flood of queue/member variables before building any dict.
            variable = msg.get("Variable") or ""
            if not variable.startswith(HOTLINE_PREFIX) and variable not in _CALL_VARS:
                return
        headers = dict(msg.fields)
        stamp = headers.get("Timestamp")
        if stamp:
            try:
                self.clock = float(stamp)
            except ValueError:
                log.warning("skipping %s with a bad Timestamp %r", name, stamp)
                return
        try:
            handler(headers)
        except Exception:
            # One odd event (or a failing subscriber) must not stop the stream.
            log.exception("call tracker failed on %s; event skipped", name)

    def feed(self, messages: Iterable[AmiMessage]) -> None:
        for msg in messages:
            self.handle(msg)

    # ------------------------------------------------------------- live state

    def active_calls(self) -> list[dict[str, Any]]:
        """Calls in flight (stage ivr/queued/ringing/talking/routing), oldest first."""
        out = []
        for call in sorted(self.calls.values(), key=lambda c: c.started_at):
            leg = call.leg
            out.append({
                **self._ids(call),
                "stage": call.stage,
                "since": call.since,
                "started_at": call.started_at,
                "queue": leg.queue if leg else None,
                "leg": leg.leg if leg else None,
                "position": call.position if leg and leg.answered_by is None else None,
                "priority": call.priority,
                "member": leg.answered_by if leg else None,
                "interface": leg.member_interface if leg else None,
            })
        return out

    def waiting(self, queue: str) -> list[dict[str, Any]]:
        """Callers waiting in `queue` (queued or ringing), by queue position."""
        rows = [
            call for call in self.calls.values()
            if call.leg is not None and call.leg.queue == queue and call.leg.answered_by is None
            and call.abandon_at is None
        ]
        rows.sort(key=lambda c: (c.position or 0, c.since))
        return [
            {
                **self._ids(call),
                "queue": queue,
                "position": call.position,
                "priority": call.priority,
                "entered_at": call.leg.queue_entered_at if call.leg else None,
                "stage": call.stage,
            }
            for call in rows
        ]

    def members(self, queue: str | None = None) -> list[dict[str, Any]]:
        return [m for m in self.board.all() if queue is None or m["queue"] == queue]

    # ------------------------------------------------------------ channels

    def _on_newchannel(self, h: dict[str, str]) -> None:
        uid = h.get("Uniqueid")
        if not uid:
            return
        self.channels[uid] = Channel(
            name=h.get("Channel", ""),
            uniqueid=uid,
            linkedid=h.get("Linkedid") or uid,
            created_at=self.clock,
            caller_num=_caller_id(h.get("CallerIDNum")),
            caller_name=_caller_id(h.get("CallerIDName")),
        )

    def _on_newcallerid(self, h: dict[str, str]) -> None:
        uid = h.get("Uniqueid", "")
        num, name = _caller_id(h.get("CallerIDNum")), _caller_id(h.get("CallerIDName"))
        chan = self.channels.get(uid)
        if chan is not None:
            chan.caller_num = num or chan.caller_num
            chan.caller_name = name or chan.caller_name
        call = self.calls.get(uid)
        if call is not None:
            call.caller_num = num or call.caller_num
            call.caller_name = name or call.caller_name

    def _on_newexten(self, h: dict[str, str]) -> None:
        uid = h.get("Uniqueid", "")
        app = h.get("Application", "")
        call = self.calls.get(uid)
        if call is None:
            if app in _OUTGOING_APPS:
                return
            if app in ("AGI", "Queue") or h.get("Context") in self._entry_contexts:
                call = self._start_call(uid, h)
            else:
                return
        if app == "Queue":
            queue = h.get("AppData", "").split(",", 1)[0].strip()
            call.queue_app = (queue, self.clock)
            self._finish_ivr(call, None)

    def _start_call(self, uid: str, h: dict[str, str]) -> Call:
        chan = self.channels.get(uid)
        if chan is None:
            # Channel born while we were not listening (or before we connected).
            chan = Channel(
                name=h.get("Channel", ""), uniqueid=uid, linkedid=h.get("Linkedid") or uid,
                created_at=self.clock,
            )
            self.channels[uid] = chan
        call = Call(
            uniqueid=uid,
            linkedid=h.get("Linkedid") or chan.linkedid,
            channel=chan.name or h.get("Channel", ""),
            started_at=chan.created_at,
            caller_num=chan.caller_num or _caller_id(h.get("CallerIDNum")),
            caller_name=chan.caller_name or _caller_id(h.get("CallerIDName")),
            since=self.clock,
        )
        self.calls[uid] = call
        pending = self._pending_ivr.pop(uid, None) or self._pending_ivr.pop(call.linkedid, None)
        if pending is not None:
            self._merge_ivr(call, pending[1])
        self._send("call.started", call, stage="ivr")
        return call

    def _on_hangup(self, h: dict[str, str]) -> None:
        uid = h.get("Uniqueid", "")
        self.channels.pop(uid, None)
        call = self.calls.pop(uid, None)
        if call is None:
            self._on_agent_hangup(uid, h.get("Channel", ""))
            return
        now = self.clock
        leg = call.leg
        if leg is not None:
            if leg.answered_by is not None:
                end = call.talk_end or now
                leg.talk_s = whole_seconds(leg.answered_at or end, end)
                self._close(call, "answered", "agent" if call.agent_gone else "caller", end)
            else:
                if leg.wait_s is None:
                    leg.wait_s = whole_seconds(leg.queue_entered_at or now, now)
                self._close(call, "abandoned", "caller", call.abandon_at or now)
        elif call.legs_done == 0:
            self._finish_ivr(call, None)
            record = self._new_leg(call)
            self._close(call, "ivr_hangup", "caller", now, record=record)
        self._forget_agents(call)

    def _on_agent_hangup(self, uid: str, name: str) -> None:
        caller = self._agent_calls.pop(uid, None)
        self._agent_calls.pop(name, None)
        call = self.calls.get(caller) if caller else None
        if call is None:
            return
        call.ringing.pop(uid, None)
        if call.leg is not None and call.agent_uid == uid:
            call.agent_gone = True
            if call.talk_end is None:
                call.talk_end = self.clock

    # ------------------------------------------------------------------ IVR

    def _on_varset(self, h: dict[str, str]) -> None:
        call = self.calls.get(h.get("Uniqueid", ""))
        if call is None:
            return
        var, value = h.get("Variable", ""), h.get("Value", "")
        if var.startswith(HOTLINE_PREFIX):
            call.vars[var] = value
            if var == CHOICE.name:
                call.ivr_choice = value
                call.ivr_path.append(value)
            elif var == PRIORITY.name:
                call.priority = _int(value)
        elif var == "MIXMONITOR_FILENAME":
            call.recording = value or None
            if call.leg is not None:
                call.leg.recording = call.recording
        elif var == "AGISTATUS":
            self._finish_ivr(call, value)
        elif var == "QUEUESTATUS":
            self._on_queue_status(call, value)

    def _on_dtmf(self, h: dict[str, str]) -> None:
        call = self.calls.get(h.get("Uniqueid", ""))
        if call is None or call.ivr_done or h.get("Direction", "Received") != "Received":
            return
        if call.reading or not call.agi_seen:
            call.digits.append(h.get("Digit", ""))

    def _on_agi_start(self, h: dict[str, str]) -> None:
        call = self.calls.get(h.get("Uniqueid", ""))
        if call is None:
            return
        call.agi_seen = True
        if reads_digits(h.get("Command", "")):
            call.reading.add(h.get("CommandId", ""))

    def _on_agi_end(self, h: dict[str, str]) -> None:
        call = self.calls.get(h.get("Uniqueid", ""))
        if call is not None:
            call.reading.discard(h.get("CommandId", ""))

    def _finish_ivr(self, call: Call, agi_status: str | None) -> None:
        if call.ivr_done:
            return
        call.ivr_done = True
        call.ivr_ended_at = self.clock
        call.reading.clear()
        self._send(
            "call.ivr_finished", call,
            ivr_digits="".join(call.digits) or None,
            ivr_choice=call.ivr_choice,
            priority=call.priority,
            queue=call.vars.get(QUEUE.name),
            agi_status=agi_status,
            vars=dict(call.vars),
        )

    def apply_ivr_outcome(self, payload: dict[str, Any]) -> None:
        """Merge an ``ivr.finished`` payload into the live call it belongs to.

        Found by ``uniqueid`` (the AGI channel), else by ``linkedid``. Sets what the IVR knows
        and the AMI stream does not (the nodes walked, the incident merged into, a callback
        request, the language) on every leg the call emits from now on. The IVR usually
        finishes before the AMI events of its channel have all arrived, sometimes before the
        call started here: such outcomes wait in a small bounded map for the call to show up.
        """
        uid = str(payload.get("uniqueid") or "")
        linkedid = str(payload.get("linkedid") or "")
        call = self.calls.get(uid) if uid else None
        if call is None and linkedid:
            call = next((c for c in self.calls.values() if c.linkedid == linkedid), None)
        if call is not None:
            self._merge_ivr(call, payload)
            return
        if uid and self.was_emitted(f"{uid}#0"):
            log.info("IVR outcome for %s came after its call record; not merged", uid)
            return
        now = self.clock
        keys = {uid, linkedid} - {""}
        while self._pending_ivr and (
            len(self._pending_ivr) + len(keys) > _PENDING_IVR_MAX
            or next(iter(self._pending_ivr.values()))[0] < now - _PENDING_IVR_S
        ):
            key, (_, dropped) = self._pending_ivr.popitem(last=False)
            log.warning("IVR outcome for %s never met its call; dropped (path %s)", key,
                        dropped.get("path"))
        for key in keys:
            self._pending_ivr[key] = (now, payload)

    def _merge_ivr(self, call: Call, payload: dict[str, Any]) -> None:
        for key in (call.uniqueid, call.linkedid):
            self._pending_ivr.pop(key, None)
        path = payload.get("path")
        if isinstance(path, list):
            call.reported_path = [str(node) for node in path]
        choice, digits = payload.get("choice"), payload.get("digits")
        call.reported_choice = str(choice) if choice else None
        call.reported_digits = str(digits) if digits else None
        incident = payload.get("incident")
        call.incident_id = str(incident) if incident else None
        call.callback_requested = bool(payload.get("callback_requested"))
        language = payload.get("language")
        call.language = str(language) if language else None

    # ---------------------------------------------------------------- queue

    def _on_join(self, h: dict[str, str]) -> None:
        uid = h.get("Uniqueid")
        if not uid:
            return
        call = self.calls.get(uid) or self._start_call(uid, h)
        self._finish_ivr(call, None)
        queue = h.get("Queue")
        leg = call.leg
        if leg is not None:
            if call.leg_from_log and leg.queue == queue and leg.answered_by is None:
                leg.queue_entered_at = self.clock
                call.leg_from_log = False
                call.position = _int(h.get("Position"))
                return
            if leg.transferred_to is None:
                leg.transferred_to = queue
            self._leave_for_next_queue(call)
        record = self._new_leg(call)
        record.queue = queue
        record.queue_entered_at = self.clock
        call.leg = record
        call.position = _int(h.get("Position"))
        call.since = self.clock
        self._send("call.queued", call, queue=queue, position=call.position,
                   priority=call.priority, leg=record.leg)

    def _leave_for_next_queue(self, call: Call) -> None:
        """The caller joins another queue with a leg still open: moved by AMI Redirect (or
        similar) without any transfer event; app_queue closes that leg only at the very end."""
        leg = call.leg
        assert leg is not None
        if leg.answered_by is not None:
            end = call.talk_end or self.clock
            leg.talk_s = whole_seconds(leg.answered_at or end, end)
            self._close(call, "transferred", None, end)
        else:
            if leg.wait_s is None:
                leg.wait_s = whole_seconds(leg.queue_entered_at or self.clock, self.clock)
            self._close(call, "abandoned", None, self.clock)

    def _on_leave(self, h: dict[str, str]) -> None:
        call = self.calls.get(h.get("Uniqueid", ""))
        queue, position = h.get("Queue"), _int(h.get("Position"))
        if position is not None:
            for other in self.calls.values():
                if (other is not call and other.leg is not None and other.leg.queue == queue
                        and other.position is not None and other.position > position):
                    other.position -= 1
        if call is None or call.leg is None:
            return
        call.position = None
        self._send("call.left", call, queue=queue, leg=call.leg.leg, position=position,
                   count=_int(h.get("Count")))

    def _on_abandon(self, h: dict[str, str]) -> None:
        call = self.calls.get(h.get("Uniqueid", ""))
        if call is None or call.leg is None:
            return
        call.leg.wait_s = _int(h.get("HoldTime"))
        call.abandon_at = self.clock
        call.ringing.clear()
        self._send("call.abandoned", call, queue=call.leg.queue, leg=call.leg.leg,
                   position=_int(h.get("Position")), wait_s=call.leg.wait_s)

    def _on_queue_status(self, call: Call, status: str) -> None:
        leg = call.leg
        now = self.clock
        if status == "TIMEOUT" and leg is not None and leg.answered_by is None:
            if leg.wait_s is None:
                leg.wait_s = whole_seconds(leg.queue_entered_at or now, now)
            self._close(call, "timeout", None, call.abandon_at or now)
        elif status in _EMPTY_STATUSES:
            if leg is None:
                queue, at = call.queue_app or (call.vars.get(QUEUE.name), now)
                done = call.last_closed
                if done is not None and done.recovered and done.outcome == "joinempty" and (
                        queue is None or done.queue == queue):
                    return  # already rebuilt from queue_log during a resync
                record = self._new_leg(call)
                record.queue, record.queue_entered_at, record.wait_s = queue, at, 0
                self._close(call, "joinempty", None, now, record=record)
            elif leg.answered_by is None:
                if leg.wait_s is None:
                    leg.wait_s = whole_seconds(leg.queue_entered_at or now, now)
                self._close(call, "joinempty", None, now)

    def _on_agent_called(self, h: dict[str, str]) -> None:
        call = self.calls.get(h.get("Uniqueid", ""))
        if call is None or call.leg is None:
            return
        dest = h.get("DestUniqueid") or h.get("DestChannel") or ""
        member, interface, channel = h.get("MemberName"), h.get("Interface"), h.get("DestChannel")
        call.ringing[dest] = (member, interface, channel)
        self._agent_calls[dest] = call.uniqueid
        call.since = self.clock
        self._send("call.ringing", call, queue=call.leg.queue, leg=call.leg.leg, member=member,
                   interface=interface, agent_channel=channel,
                   ivr_digits="".join(call.digits) or None, ivr_choice=call.ivr_choice,
                   priority=call.priority, vars=dict(call.vars))

    def _on_ring_no_answer(self, h: dict[str, str]) -> None:
        call = self.calls.get(h.get("Uniqueid", ""))
        if call is None or call.leg is None:
            return
        member = h.get("MemberName") or ""
        call.leg.ring_no_answer.append(member)
        call.ringing.pop(h.get("DestUniqueid") or h.get("DestChannel") or "", None)
        self._send("call.ring_no_answer", call, queue=call.leg.queue, leg=call.leg.leg,
                   member=member, interface=h.get("Interface"), ring_ms=_int(h.get("RingTime")))

    def _on_agent_connect(self, h: dict[str, str]) -> None:
        call = self.calls.get(h.get("Uniqueid", ""))
        if call is None or call.leg is None:
            return
        leg = call.leg
        leg.answered_by = h.get("MemberName")
        leg.member_interface = h.get("Interface")
        leg.agent_channel = h.get("DestChannel")
        leg.wait_s = _int(h.get("HoldTime"))
        leg.answered_at = self.clock
        call.ringing.clear()
        call.position = None
        call.since = self.clock
        call.agent_uid = h.get("DestUniqueid")
        call.talk_end, call.agent_gone = None, False
        for key in (call.agent_uid, leg.agent_channel):
            if key:
                self._agent_calls[key] = call.uniqueid
        self._send("call.answered", call, queue=leg.queue, leg=leg.leg, member=leg.answered_by,
                   interface=leg.member_interface, agent_channel=leg.agent_channel,
                   wait_s=leg.wait_s)

    def _on_agent_complete(self, h: dict[str, str]) -> None:
        uid = h.get("Uniqueid")
        if not uid:
            # AMI Redirect: app_queue reports the first leg only when the caller finally hangs
            # up, with no channel fields; that leg was closed when the caller joined again.
            log.debug("AgentComplete without channel for %s/%s ignored",
                      h.get("Queue"), h.get("MemberName"))
            return
        call = self.calls.get(uid)
        if call is None or call.leg is None or call.leg.answered_by is None:
            return
        leg = call.leg
        if leg.queue != h.get("Queue"):
            return
        leg.talk_s = _int(h.get("TalkTime"))
        reason = h.get("Reason", "")
        if reason == "transfer":
            self._close(call, "transferred", None, self.clock)
        else:
            self._close(call, "answered", reason if reason in ("caller", "agent") else None,
                        self.clock)

    def _on_blind_transfer(self, h: dict[str, str]) -> None:
        call = self.calls.get(h.get("TransfereeUniqueid", ""))
        if call is not None and call.leg is not None and h.get("Result", "Success") == "Success":
            call.leg.transferred_to = f"{h.get('Extension', '')}@{h.get('Context', '')}"

    def _on_bridge_enter(self, h: dict[str, str]) -> None:
        call = self.calls.get(h.get("Uniqueid", ""))
        if call is not None and call.leg is not None and call.leg.answered_by is not None:
            call.talk_end = None

    def _on_bridge_leave(self, h: dict[str, str]) -> None:
        call = self.calls.get(h.get("Uniqueid", ""))
        if call is not None and call.leg is not None and call.leg.answered_by is not None:
            call.talk_end = self.clock

    def _on_spy_start(self, h: dict[str, str]) -> None:
        spyee_uid, spyee = h.get("SpyeeUniqueid", ""), h.get("SpyeeChannel", "")
        caller = self._agent_calls.get(spyee_uid) or self._agent_calls.get(spyee)
        if caller is None and spyee[-2:] in (";1", ";2"):
            # The other half of a Local agent channel is the same agent.
            caller = self._agent_calls.get(spyee[:-1] + ("2" if spyee[-1] == "1" else "1"))
        call = self.calls.get(caller) if caller else None
        if call is None or call.leg is None or call.leg.answered_by is None:
            return
        if call.leg.spied_by is None:
            call.leg.spied_by = h.get("SpyerChannel")
        self._send("call.spied", call, queue=call.leg.queue, leg=call.leg.leg,
                   spyer_channel=h.get("SpyerChannel"), spyee_channel=spyee)

    def _on_user_event(self, h: dict[str, str]) -> None:
        if h.get("UserEvent") != "HotlineCallbackRequest":
            return
        call = self.calls.get(h.get("Uniqueid", ""))
        if call is not None:
            self._send("call.callback_requested", call, queue=h.get("Queue"))

    def _member_handler(self, event: str) -> Callable[[dict[str, str]], None]:
        def handle(h: dict[str, str]) -> None:
            state = self.board.apply(event, h)
            if state is not None:
                self._out("agent.state", {**state, "at": self.clock})
        return handle

    # ------------------------------------------------------------ recovery

    def connection_lost(self, at: float | None = None) -> None:
        """Mark the start of an AMI outage (events from then on are missing until resync).

        ``at`` is when events stopped arriving, default the latest time seen; a restarted
        service gives the end of the newest call it stored.
        """
        if self.lost_at is None:
            self.lost_at = self.clock if at is None else at

    def resync(
        self,
        channels: list[AmiMessage],
        queue_status: list[AmiMessage],
        queue_log: list[QueueLogEntry],
        *,
        now: float | None = None,
    ) -> list[CallRecord]:
        """Catch up after an AMI reconnect; returns the records closed by the catch-up.

        `channels` is the CoreShowChannels answer, `queue_status` the QueueStatus answer (both
        taken after the reconnect, before new events are handled), `queue_log` the entries
        written since shortly before the outage. Calls whose channel is gone are closed from
        queue_log (or, without a trace there, as far as we know) and marked recovered; calls
        and legs that started during the outage are picked up. `now` is the PBX time of the
        snapshot (default: the latest time seen).
        """
        listed = live_channels(channels)
        if listed is None:
            log.warning("resync without a complete CoreShowChannels list: no call is closed "
                        "for a vanished channel, only from queue_log")
        snapshot = queue_snapshot(queue_status)
        if not snapshot.complete:
            log.warning("resync without a complete QueueStatus list: queue state not refreshed")
            snapshot.entries, snapshot.members = {}, []
        latest = max([self.clock, *(float(e.time) for e in queue_log)])
        now = latest if now is None else now
        lost_at = self.lost_at if self.lost_at is not None else now
        self.clock = max(self.clock, now)
        closed: list[CallRecord] = []
        collect = self._on_record

        def on_record(record: CallRecord) -> None:
            closed.append(record)
            if collect is not None:
                collect(record)

        self._on_record = on_record
        try:
            if snapshot.complete:
                self._resync_members(snapshot.members)
            if listed is not None:
                self._resync_channels(listed, now)
            # Without a channel list, every call we track is taken to be still up.
            alive = listed if listed is not None else {uid: {} for uid in self.calls}
            log_legs: dict[str, list[QueueLeg]] = {}
            for leg in legs_from_queue_log(queue_log):
                log_legs.setdefault(leg.callid, []).append(leg)
            for call in list(self.calls.values()):
                self._resync_call(call, log_legs.pop(call.uniqueid, []), alive, snapshot.entries,
                                  now)
            for callid, legs in log_legs.items():
                if callid not in alive:
                    self._emit_unseen(callid, legs, int(lost_at))
        finally:
            self._on_record = collect
            self.lost_at = None
        return closed

    def _resync_members(self, members: list[dict[str, str]]) -> None:
        states = [self.board.apply("QueueMember", m) for m in members]
        self.board.replace_all([s for s in states if s is not None])
        for state in self.board.all():
            self._out("agent.state", {**state, "at": self.clock})

    def _resync_channels(self, alive: dict[str, dict[str, str]], now: float) -> None:
        for uid in [uid for uid in self.channels if uid not in alive]:
            del self.channels[uid]
        for uid, h in alive.items():
            if uid not in self.channels:
                self.channels[uid] = Channel(
                    name=h.get("Channel", ""), uniqueid=uid, linkedid=h.get("Linkedid") or uid,
                    created_at=now - parse_duration(h.get("Duration")),
                    caller_num=_caller_id(h.get("CallerIDNum")),
                    caller_name=_caller_id(h.get("CallerIDName")),
                )
            if uid in self.calls:
                continue
            app = h.get("Application", "")
            if app in ("AGI", "Queue") or (
                    app and app not in _OUTGOING_APPS and h.get("Context") in self._entry_contexts):
                call = self._start_call(uid, h)
                if app != "AGI":
                    # Past the IVR: what it collected was set while we were away.
                    call.ivr_done = True

    def _resync_call(
        self,
        call: Call,
        log_legs: list[QueueLeg],
        alive: dict[str, dict[str, str]],
        entries: dict[str, dict[str, str]],
        now: float,
    ) -> None:
        for found in _align(call, log_legs):
            if found.leg < call.legs_done:
                continue
            open_leg = call.leg
            if open_leg is not None and found.leg > open_leg.leg:
                # A later queue visit: the open leg was left for it (transfer/redirect).
                self._close_as_known(call, now, alive=True)
                open_leg = None
            created = open_leg is None
            if open_leg is None:
                open_leg = self._new_leg(call)
                open_leg.leg = found.leg
                open_leg.queue = found.queue
                open_leg.queue_entered_at = float(found.entered_at)
                call.leg, call.leg_from_log = open_leg, True
                call.ivr_done = True
            answered = self._merge_log_leg(call, open_leg, found)
            if call.leg is open_leg:
                self._announce(call, open_leg, queued=created, answered=answered)
        uid = call.uniqueid
        if uid not in alive:
            if call.leg is not None:
                self._close_as_known(call, now, alive=False)
            elif call.legs_done == 0:
                record = self._new_leg(call)
                self._close(call, "ivr_hangup", "caller", now, record=record, recovered=True)
            self.calls.pop(uid, None)
            self._forget_agents(call)
            return
        entry = entries.get(uid)
        if entry is None:
            return
        queue, entered = entry.get("Queue"), now - (_int(entry.get("Wait")) or 0)
        done = call.last_closed
        if call.leg is None and done is not None and done.queue == queue and (
                entered <= (done.queue_entered_at or 0.0) + 1.5):
            return  # the visit queue_log already closed; its AMI events are still to come
        if call.leg is None or call.leg.queue != queue:
            if call.leg is not None:
                self._close_as_known(call, now, alive=True)
            record = self._new_leg(call)
            record.queue, record.queue_entered_at = queue, entered
            call.leg, call.leg_from_log, call.ivr_done = record, True, True
            call.position = _int(entry.get("Position"))
            self._announce(call, record, queued=True, answered=False)
        call.position = _int(entry.get("Position"))

    def _announce(self, call: Call, leg: CallRecord, *, queued: bool, answered: bool) -> None:
        """Tell subscribers about a leg (or its answer) that happened while we were away."""
        if queued:
            self._send("call.queued", call, queue=leg.queue, position=call.position,
                       priority=call.priority, leg=leg.leg, recovered=True)
        if answered:
            self._send("call.answered", call, queue=leg.queue, leg=leg.leg,
                       member=leg.answered_by, interface=leg.member_interface,
                       agent_channel=leg.agent_channel, wait_s=leg.wait_s, recovered=True)

    def _merge_log_leg(self, call: Call, leg: CallRecord, found: QueueLeg) -> bool:
        """Apply queue_log's view of a leg; True if it told us of an answer we missed."""
        answered = found.answered_by is not None and leg.answered_by is None
        if answered:
            leg.answered_by = found.answered_by
            leg.member_interface = self.board.interface_of(found.queue, found.answered_by)
            leg.answered_at = float(found.connected_at or found.entered_at)
            call.ringing.clear()
        if found.wait_s is not None:
            leg.wait_s = found.wait_s
        for member in found.ring_no_answer[len(leg.ring_no_answer):]:
            leg.ring_no_answer.append(member)
        if found.outcome is None:
            return answered
        if found.talk_s is not None:
            leg.talk_s = found.talk_s
        self._close(call, found.outcome, found.hangup_by, float(found.ended_at or self.clock),
                    recovered=True)
        return answered

    def _close_as_known(self, call: Call, now: float, *, alive: bool) -> None:
        """Close the open leg without queue_log's word: from what the events told us."""
        leg = call.leg
        assert leg is not None
        end = call.talk_end or now
        if leg.answered_by is not None:
            if leg.talk_s is None:
                leg.talk_s = whole_seconds(leg.answered_at or end, end)
            outcome: Outcome = "transferred" if alive else "answered"
            self._close(call, outcome, None, end, recovered=True)
            return
        if leg.wait_s is None:
            leg.wait_s = whole_seconds(leg.queue_entered_at or now, call.abandon_at or now)
        self._close(call, "abandoned", None if alive else "caller", call.abandon_at or now,
                    recovered=True)

    def _emit_unseen(self, callid: str, legs: list[QueueLeg], lost_at: int) -> None:
        """Queue visits of a call that began and ended while we were away: queue_log is all
        we have (no linkedid, caller name, IVR digits)."""
        for found in legs:
            if found.outcome is None or (found.ended_at or 0) < lost_at:
                continue  # ended before the outage: handled live back then
            record = CallRecord(linkedid=callid, uniqueid=callid, leg=found.leg)
            if self.was_emitted(record.key):
                continue
            record.caller_num = found.caller_num
            record.queue = found.queue
            record.queue_entered_at = float(found.entered_at)
            record.started_at = float(found.entered_at)
            record.outcome = found.outcome
            record.wait_s, record.talk_s = found.wait_s, found.talk_s
            record.answered_by = found.answered_by
            record.member_interface = self.board.interface_of(found.queue, found.answered_by)
            record.hangup_by = found.hangup_by
            record.ring_no_answer = list(found.ring_no_answer)
            record.answered_at = float(found.connected_at) if found.connected_at else None
            record.ended_at = float(found.ended_at or found.entered_at)
            record.recovered = True
            self._emit(record)

    # ------------------------------------------------------------- records

    def _new_leg(self, call: Call) -> CallRecord:
        return CallRecord(linkedid=call.linkedid, uniqueid=call.uniqueid, leg=call.legs_done)

    def _close(
        self,
        call: Call,
        outcome: Outcome,
        hangup_by: str | None,
        ended_at: float,
        *,
        record: CallRecord | None = None,
        recovered: bool = False,
    ) -> None:
        leg = record if record is not None else call.leg
        assert leg is not None
        leg.caller_num, leg.caller_name = call.caller_num, call.caller_name
        leg.ivr_digits = "".join(call.digits) or None
        leg.ivr_digits = leg.ivr_digits or call.reported_digits
        leg.ivr_choice = call.ivr_choice or call.reported_choice
        path = call.reported_path if call.reported_path is not None else call.ivr_path
        leg.ivr_path = list(path)
        leg.incident_id, leg.callback_requested = call.incident_id, call.callback_requested
        leg.language = call.language
        leg.priority, leg.vars = call.priority, dict(call.vars)
        leg.recording = call.recording
        leg.started_at, leg.ivr_ended_at = call.started_at, call.ivr_ended_at
        leg.outcome, leg.hangup_by, leg.ended_at = outcome, hangup_by, ended_at
        leg.recovered = leg.recovered or recovered
        if outcome == "transferred":
            leg.hangup_by = None
        if leg.answered_by is None:
            leg.talk_s = None
        call.leg = None
        call.legs_done = max(call.legs_done, leg.leg + 1)
        call.ringing.clear()
        call.abandon_at, call.talk_end, call.agent_gone = None, None, False
        call.position, call.since, call.leg_from_log = None, self.clock, False
        call.last_closed = leg
        self._forget_agents(call)
        self._emit(leg)

    def _emit(self, record: CallRecord) -> None:
        key = record.key
        if key in self._emitted:
            log.warning("call record %s already emitted; dropping the duplicate", key)
            return
        self._emitted[key] = None
        if len(self._emitted) > _EMITTED_MEMORY:
            self._emitted.popitem(last=False)
        if self._on_record is not None:
            try:
                self._on_record(record)
            except Exception:
                log.exception("on_record failed for %s", key)
        self._out("call.ended", record.to_json())

    def was_emitted(self, key: str) -> bool:
        return key in self._emitted

    def _forget_agents(self, call: Call) -> None:
        for key in [k for k, v in self._agent_calls.items() if v == call.uniqueid]:
            del self._agent_calls[key]
        call.agent_uid = None

    def _ids(self, call: Call) -> dict[str, Any]:
        return {
            "linkedid": call.linkedid,
            "uniqueid": call.uniqueid,
            "channel": call.channel,
            "caller_num": call.caller_num,
            "caller_name": call.caller_name,
        }

    def _send(self, topic: str, call: Call, **payload: Any) -> None:
        self._out(topic, {**self._ids(call), "at": self.clock, **payload})

    def _out(self, topic: str, payload: dict[str, Any]) -> None:
        # A failing subscriber must not leave the tracker half-way through an event.
        if self._publish is None:
            return
        try:
            self._publish(topic, payload)
        except Exception:
            log.exception("publishing %s failed", topic)
