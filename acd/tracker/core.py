"""The call tracker's shared state and what every event handler ends with: starting a call,
ending its IVR stage, closing a leg into a CallRecord, and publishing domain events."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from acd.records import CallRecord, Outcome
from acd.tracker.members import MemberBoard
from acd.tracker.state import Call, Channel, caller_id
from events.topics import CALL_ANSWERED, CALL_ENDED, CALL_IVR_FINISHED, CALL_QUEUED, CALL_STARTED

# One logger for the whole tracker, under the name its log lines always had.
log = logging.getLogger("acd.calls")

Publish = Callable[[str, dict[str, Any]], None]
OnRecord = Callable[[CallRecord], None]

_EMITTED_MEMORY = 200_000


class TrackerCore:
    """State and shared steps of `acd.calls.CallTracker`; its event mixins build on this."""

    def __init__(
        self,
        publish: Publish | None,
        on_record: OnRecord | None,
        *,
        entry_contexts: Iterable[str],
        queue_var: str,
    ) -> None:
        self._publish = publish
        self._on_record = on_record
        self._entry_contexts = frozenset(entry_contexts)
        # The channel variable naming the queue the IVR chose (the contract's HOTLINE_QUEUE).
        self._queue_var = queue_var
        self.channels: dict[str, Channel] = {}
        self.calls: dict[str, Call] = {}
        # Agent-side channel (uniqueid and name) → caller uniqueid, while ringing or talking.
        self._agent_calls: dict[str, str] = {}
        self._emitted: OrderedDict[str, None] = OrderedDict()
        self.board = MemberBoard()
        self.clock = 0.0
        self.lost_at: float | None = None

    # ------------------------------------------------------------------ calls

    def _start_call(self, uid: str, h: dict[str, str]) -> Call:
        chan = self.channels.get(uid)
        if chan is None:
            # Channel born while we were not listening (or before we connected).
            chan = Channel(
                name=h.get("Channel", ""),
                uniqueid=uid,
                linkedid=h.get("Linkedid") or uid,
                created_at=self.clock,
            )
            self.channels[uid] = chan
        call = Call(
            uniqueid=uid,
            linkedid=h.get("Linkedid") or chan.linkedid,
            channel=chan.name or h.get("Channel", ""),
            started_at=chan.created_at,
            caller_num=chan.caller_num or caller_id(h.get("CallerIDNum")),
            caller_name=chan.caller_name or caller_id(h.get("CallerIDName")),
            since=self.clock,
        )
        self.calls[uid] = call
        self._send(CALL_STARTED, call, stage="ivr")
        return call

    def _finish_ivr(self, call: Call, agi_status: str | None) -> None:
        if call.ivr_done:
            return
        call.ivr_done = True
        call.ivr_ended_at = self.clock
        call.reading.clear()
        self._send(
            CALL_IVR_FINISHED,
            call,
            ivr_digits="".join(call.digits) or None,
            ivr_choice=call.ivr_choice,
            priority=call.priority,
            queue=call.vars.get(self._queue_var),
            agi_status=agi_status,
            vars=dict(call.vars),
        )

    def _forget_agents(self, call: Call) -> None:
        for key in [k for k, v in self._agent_calls.items() if v == call.uniqueid]:
            del self._agent_calls[key]
        call.agent_uid = None

    # ---------------------------------------------------------------- records

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
        leg.ivr_digits = leg.ivr_digits or call.ivr_keys
        leg.ivr_choice = call.ivr_choice
        path = call.menu_path if call.menu_path is not None else call.ivr_path
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
        self._out(CALL_ENDED, record.to_json())

    def was_emitted(self, key: str) -> bool:
        return key in self._emitted

    # ------------------------------------------------------------- publishing

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

    def _send_queued(self, call: Call, leg: CallRecord, **extra: Any) -> None:
        self._send(
            CALL_QUEUED,
            call,
            queue=leg.queue,
            position=call.position,
            priority=call.priority,
            leg=leg.leg,
            **extra,
        )

    def _send_answered(self, call: Call, leg: CallRecord, **extra: Any) -> None:
        self._send(
            CALL_ANSWERED,
            call,
            queue=leg.queue,
            leg=leg.leg,
            member=leg.answered_by,
            interface=leg.member_interface,
            agent_channel=leg.agent_channel,
            wait_s=leg.wait_s,
            **extra,
        )

    def _out(self, topic: str, payload: dict[str, Any]) -> None:
        # A failing subscriber must not leave the tracker half-way through an event.
        if self._publish is None:
            return
        try:
            self._publish(topic, payload)
        except Exception:
            log.exception("publishing %s failed", topic)
