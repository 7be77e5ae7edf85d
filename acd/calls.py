"""The AMI call tracker: one ordered consumer of the AMI event stream that turns it into
call records (one per call and queue leg), live domain events and wallboard state.

Pure and synchronous: no I/O, no clock of its own (it uses the events' ``Timestamp``), so
the real captures replay through it deterministically. The pitfalls it copes with are listed
in the captures' README (Local-channel pairs, QueueCallerLeave before AgentConnect,
AgentComplete without channel fields, timeout that looks like an abandon, joinempty without
queue events, transfer by a second QueueCallerJoin, …).

Domain events published (constants in ``events.topics``, shapes in ``events.payloads``;
topic → payload keys; every call payload carries ``linkedid``,
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
- ``call.incident_reported``: ``incident_id`` (HOTLINE_INCIDENT set: the caller registered
  against a major-fault incident, 并单; once per call)
- ``call.survey``: ``answer`` (HOTLINE_SURVEY set by the post-call survey; once per call)
- ``call.ended``: ``CallRecord.to_json()`` of one finished leg (exactly once per leg)
- ``agent.state``: ``acd.tracker.members.member_state`` keys plus ``at``

``call.queued`` and ``call.answered`` learnt during a resync carry ``recovered: True``.
Subscriber exceptions are logged and never interrupt the tracker.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from acd.ami.message import AmiMessage
from acd.tracker.channels import ChannelEvents
from acd.tracker.core import OnRecord, Publish, log
from acd.tracker.duplicates import RecentEvents
from acd.tracker.ivr import IvrEvents, reads_digits
from acd.tracker.queue_events import QueueEvents
from acd.tracker.resync import Resync
from acd.tracker.state import Call, Channel, caller_id, int_or_none, whole_seconds
from asterisk_conf.channel_vars import (
    CALLBACK,
    CHOICE,
    DIGITS,
    INCIDENT,
    LANGUAGE,
    PATH,
    PATH_SEPARATOR,
    PREFIX,
    PRIORITY,
    QUEUE,
    SURVEY,
)
from events.topics import AGENT_STATE, CALL_INCIDENT_REPORTED, CALL_SURVEY

__all__ = [
    "HOTLINE_PREFIX",
    "Call",
    "CallTracker",
    "Channel",
    "OnRecord",
    "Publish",
    "reads_digits",
    "whole_seconds",
]

HOTLINE_PREFIX = PREFIX
# The only VarSets the tracker reads; everything else (~44 % of a stream) is dropped unparsed.
_CALL_VARS = frozenset({"QUEUESTATUS", "MIXMONITOR_FILENAME", "AGISTATUS"})
_MEMBER_EVENTS = (
    "QueueMemberStatus",
    "QueueMemberPause",
    "QueueMemberAdded",
    "QueueMemberRemoved",
    "QueueMemberPenalty",
    "QueueMemberRinginuse",
    "QueueMember",
)


class CallTracker(ChannelEvents, IvrEvents, QueueEvents, Resync):
    """Consumes AMI messages in order; see the module docstring for what it publishes.

    The handlers live in `acd.tracker`: channels (lifecycle), ivr (digits, IVR report),
    queue_events (queue legs), resync (AMI outages); core holds the shared state and steps.
    """

    def __init__(
        self,
        publish: Publish | None = None,
        on_record: OnRecord | None = None,
        *,
        entry_contexts: Iterable[str] = ("hotline-ivr",),
    ) -> None:
        # The contract's variable names are read here, at construction, so that renaming one
        # in asterisk_conf/channel_vars.py (or in a test) is followed everywhere.
        super().__init__(publish, on_record, entry_contexts=entry_contexts, queue_var=QUEUE.name)
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
        for name in _MEMBER_EVENTS:
            self._handlers[name] = self._member_handler(name)
        self._recent = RecentEvents()

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
            if not self._recent.first_time(stamp, msg.fields):
                # A repeated frame (proxy, replay): before the clock, which must not go back.
                log.debug("%s at %s seen already; duplicate ignored", name, stamp)
                return
            try:
                self.clock = epoch_seconds(stamp)
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
            out.append(
                {
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
                }
            )
        return out

    def waiting(self, queue: str) -> list[dict[str, Any]]:
        """Callers waiting in `queue` (queued or ringing), by queue position."""
        rows = [
            call
            for call in self.calls.values()
            if call.leg is not None
            and call.leg.queue == queue
            and call.leg.answered_by is None
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

    # ---------------------------------------------------------------- routing

    def _on_varset(self, h: dict[str, str]) -> None:
        # One event, several concerns: the IVR's outcome (HOTLINE_*), the recording, the AGI's
        # and Queue()'s results.
        var, value = h.get("Variable", ""), h.get("Value", "")
        call = self.calls.get(h.get("Uniqueid", ""))
        if var == SURVEY.name:
            # After Queue(): the call may be a channel the tracker never followed (a survey
            # reached by transfer, or after a restart); the VarSet names its call itself.
            self._on_survey(call, h, value)
            return
        if call is None:
            return
        if var.startswith(HOTLINE_PREFIX):
            call.vars[var] = value
            self._on_ivr_var(call, var, value)
        elif var == "MIXMONITOR_FILENAME":
            call.recording = value or None
            if call.leg is not None:
                call.leg.recording = call.recording
        elif var == "AGISTATUS":
            self._finish_ivr(call, value)
        elif var == "QUEUESTATUS":
            self._on_queue_status(call, value)

    def _on_ivr_var(self, call: Call, var: str, value: str) -> None:
        """What the IVR decided, as it sets it on the channel (asterisk_conf/channel_vars)."""
        if var == CHOICE.name:
            if value != call.ivr_choice:
                call.ivr_path.append(value)
            call.ivr_choice = value
        elif var == PRIORITY.name:
            call.priority = int_or_none(value)
        elif var == PATH.name:
            call.menu_path = value.split(PATH_SEPARATOR) if value else []
        elif var == DIGITS.name:
            call.ivr_keys = value or None
        elif var == LANGUAGE.name:
            call.language = value or None
        elif var == CALLBACK.name:
            call.callback_requested = value == "1"
        elif var == INCIDENT.name:
            if value and value != call.incident_id:
                call.incident_id = value
                # 并单: the call is merged into the incident's ticket (once per call).
                self._send(CALL_INCIDENT_REPORTED, call, incident_id=value)

    def _on_survey(self, call: Call | None, h: dict[str, str], answer: str) -> None:
        if call is not None:
            if call.survey is not None:
                return  # the first answer counts (a repeated VarSet changes nothing)
            call.survey = answer
            self._send(CALL_SURVEY, call, answer=answer)
            return
        uid = h.get("Uniqueid", "")
        self._out(
            CALL_SURVEY,
            {
                "linkedid": h.get("Linkedid") or uid,
                "uniqueid": uid,
                "channel": h.get("Channel", ""),
                "caller_num": caller_id(h.get("CallerIDNum")),
                "caller_name": caller_id(h.get("CallerIDName")),
                "at": self.clock,
                "answer": answer,
            },
        )

    def _member_handler(self, event: str) -> Callable[[dict[str, str]], None]:
        def handle(h: dict[str, str]) -> None:
            state = self.board.apply(event, h)
            if state is not None:
                self._out(AGENT_STATE, {**state, "at": self.clock})

        return handle


# 9999-12-31T23:59:59Z: the last second a datetime (and so the call store) can hold.
_LAST_EPOCH = 253402300799.0


def epoch_seconds(stamp: str) -> float:
    """An event's Timestamp as epoch seconds; ValueError for nan, inf or beyond the calendar.

    ``float()`` takes "nan", "inf" and "1e300": such a clock would put NaN/Infinity in the
    records' JSON and fail the store, so they count as bad Timestamps like "abc".
    """
    value = float(stamp)
    if not math.isfinite(value) or not 0.0 <= value <= _LAST_EPOCH:
        raise ValueError(f"Timestamp out of range: {stamp!r}")
    return value
