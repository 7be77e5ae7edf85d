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
from collections.abc import Iterable, Mapping
from typing import Any

from acd.ami.message import AmiMessage
from acd.cdr_csv import CdrEntry
from acd.queue_log import QueueLogEntry
from acd.records import DEFAULT_PBX, CallRecord
from acd.tracker import resync as catch_up
from acd.tracker import views
from acd.tracker.core import OnRecord, Outbox, Publish, log
from acd.tracker.handlers import HANDLERS
from acd.tracker.ivr import reads_digits
from acd.tracker.members import MemberBoard
from acd.tracker.state import Call, Channel, TrackerState, whole_seconds
from acd.tracker.traces import RecordingOf, no_recordings
from asterisk_conf.channel_vars import (
    CALLBACK,
    CHOICE,
    DIGITS,
    INCIDENT,
    LANGUAGE,
    PATH,
    PREFIX,
    PRIORITY,
    QUEUE,
    SURVEY,
)

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
# Events read only for a call the tracker follows (`acd.tracker.ivr`, `.channels`).
_CALL_ONLY = frozenset({"AGIExecStart", "AGIExecEnd", "HangupRequest", "SoftHangupRequest"})


class CallTracker:
    """Consumes AMI messages in order; see the module docstring for what it publishes.

    A thin façade: what the tracker remembers is one `acd.tracker.state.TrackerState`, what
    it does with each event is the plain function the event table
    (`acd.tracker.handlers.HANDLERS`) names, and the outage catch-up is `acd.tracker.resync`.
    """

    def __init__(
        self,
        publish: Publish | None = None,
        on_record: OnRecord | None = None,
        *,
        entry_contexts: Iterable[str] = ("hotline-ivr",),
        pbx: str = DEFAULT_PBX,
    ) -> None:
        # The contract's variable names are read here, at construction, so that renaming one
        # in asterisk_conf/channel_vars.py (or in a test) is followed everywhere.
        self._state = TrackerState(
            entry_contexts=frozenset(entry_contexts),
            pbx=pbx,
            queue_var=QUEUE.name,
            survey_var=SURVEY.name,
            ivr_vars={
                CHOICE.name: "choice",
                PRIORITY.name: "priority",
                PATH.name: "path",
                DIGITS.name: "digits",
                LANGUAGE.name: "language",
                CALLBACK.name: "callback",
                INCIDENT.name: "incident",
            },
        )
        self._out = Outbox(publish, on_record)

    # ------------------------------------------------------------------ input

    def handle(self, msg: AmiMessage) -> None:
        # Look at the name first: most events are dropped here without splitting their lines
        # (and without asking the kind: no response is named like an event we handle).
        name = msg.name
        handler = HANDLERS.get(name)
        if handler is None or msg.kind != "event":
            return
        # Events that would change nothing are dropped before their lines are split (the
        # split is most of a handled event's cost), from the few headers their handler would
        # look at first. Such an event does not move the clock, as if it were not handled.
        state = self._state
        if name == "Newexten":
            # One per dialplan step: a tracked call's matter only for Queue and Record, an
            # untracked channel's only if they start a call (`channels.on_newexten`).
            app = msg.get("Application") or ""
            if (msg.get("Uniqueid") or "") in state.calls:
                if app != "Queue" and app != "Record":
                    return
            elif app != "AGI" and app != "Queue" and msg.get("Context") not in state.entry_contexts:
                return
        elif name == "VarSet":
            # Drop the flood of queue/member variables before building any dict.
            variable = msg.get("Variable") or ""
            if not variable.startswith(HOTLINE_PREFIX) and variable not in _CALL_VARS:
                return
        elif name in _CALL_ONLY:
            # Of a channel that is no tracked call; once the call's AGI is seen, an AGI step
            # that reads no keys, and its end when none runs; a call's second hangup request.
            call = state.calls.get(msg.get("Uniqueid") or "")
            if call is None:
                return
            if name == "AGIExecStart":
                if call.agi_seen and not reads_digits(msg.get("Command") or ""):
                    return
            elif name == "AGIExecEnd":
                if not call.reading:
                    return
            elif call.first_hangup_request is not None:
                return
        fields = msg.fields
        headers = dict(fields)
        stamp = headers.get("Timestamp")
        if stamp:
            # The window remembers a frame's text (one string) rather than its header list.
            if not state.recent.first_time(stamp, msg.frame_text or fields):
                # A repeated frame (proxy, replay): before the clock, which must not go back.
                log.debug("%s at %s seen already; duplicate ignored", name, stamp)
                return
            # epoch_seconds() inlined (this runs for every handled event): a chained
            # comparison is False for nan and ±inf as well as out of range.
            try:
                clock = float(stamp)
            except ValueError:
                clock = math.nan
            if not 0.0 <= clock <= _LAST_EPOCH:
                log.warning("skipping %s with a bad Timestamp %r", name, stamp)
                return
            state.clock = clock
        try:
            handler(state, headers, self._out)
        except Exception:
            # One odd event (or a failing subscriber) must not stop the stream.
            log.exception("call tracker failed on %s; event skipped", name)

    def feed(self, messages: Iterable[AmiMessage]) -> None:
        for msg in messages:
            self.handle(msg)

    # ----------------------------------------------------------------- outages

    def connection_lost(self, at: float | None = None) -> None:
        """Mark the start of an AMI outage; see `acd.tracker.resync.connection_lost`."""
        catch_up.connection_lost(self._state, at)

    def resync(
        self,
        channels: list[AmiMessage],
        queue_status: list[AmiMessage],
        queue_log: list[QueueLogEntry],
        cdr: Iterable[CdrEntry] = (),
        *,
        now: float | None = None,
        recording_of: RecordingOf = no_recordings,
        learned: Mapping[str, Mapping[str, str]] | None = None,
    ) -> list[CallRecord]:
        """Catch up after an AMI reconnect; see `acd.tracker.resync.resync`."""
        return catch_up.resync(
            self._state,
            self._out,
            channels,
            queue_status,
            queue_log,
            cdr,
            now=now,
            recording_of=recording_of,
            learned=learned,
        )

    def may_be_call(self, channel: dict[str, str]) -> bool:
        """Whether a CoreShowChannel entry the tracker does not follow would be taken as a
        hotline call by the resync (see `acd.tracker.resync`)."""
        return catch_up.may_be_call(self._state, channel)

    # ------------------------------------------------------------- live state

    def active_calls(self) -> list[dict[str, Any]]:
        """Calls in flight (stage ivr/queued/ringing/talking/routing), oldest first."""
        return views.active_calls(self._state)

    def waiting(self, queue: str) -> list[dict[str, Any]]:
        """Callers waiting in `queue` (queued or ringing), by queue position."""
        return views.waiting(self._state, queue)

    def members(self, queue: str | None = None) -> list[dict[str, Any]]:
        return views.members(self._state, queue)

    def was_emitted(self, key: str) -> bool:
        return key in self._state.emitted

    @property
    def clock(self) -> float:
        """The latest event Timestamp seen (epoch seconds): the tracker's only clock."""
        return self._state.clock

    @property
    def lost_at(self) -> float | None:
        """When the current AMI outage began, None while connected (or once resynced)."""
        return self._state.lost_at

    @property
    def calls(self) -> dict[str, Call]:
        return self._state.calls

    @property
    def channels(self) -> dict[str, Channel]:
        return self._state.channels

    @property
    def board(self) -> MemberBoard:
        return self._state.board


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
