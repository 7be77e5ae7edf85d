"""What every event handler ends with, as functions over the tracker's state: starting a
call, ending its IVR stage, closing a leg into a CallRecord, and publishing domain events
through the `Outbox` (the tracker's only way out)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from acd.records import CallRecord, Outcome
from acd.tracker.state import Call, Channel, TrackerState, caller_id
from events.topics import CALL_ANSWERED, CALL_ENDED, CALL_IVR_FINISHED, CALL_QUEUED, CALL_STARTED

# One logger for the whole tracker, under the name its log lines always had.
log = logging.getLogger("acd.calls")

Publish = Callable[[str, dict[str, Any]], None]
OnRecord = Callable[[CallRecord], None]

_EMITTED_MEMORY = 200_000


@dataclass(slots=True)
class Outbox:
    """Where the tracker's output goes: domain events to `publish`, finished legs to
    `on_record`. A failing subscriber is logged and must not leave the tracker half-way
    through an event."""

    publish: Publish | None
    on_record: OnRecord | None

    def send(self, topic: str, payload: dict[str, Any]) -> None:
        if self.publish is None:
            return
        try:
            self.publish(topic, payload)
        except Exception:
            log.exception("publishing %s failed", topic)

    def record(self, record: CallRecord) -> None:
        if self.on_record is None:
            return
        try:
            self.on_record(record)
        except Exception:
            log.exception("on_record failed for %s", record.key)


# ------------------------------------------------------------------------ calls


def start_call(state: TrackerState, out: Outbox, uid: str, h: dict[str, str]) -> Call:
    chan = state.channels.get(uid)
    if chan is None:
        # Channel born while we were not listening (or before we connected).
        chan = Channel(
            name=h.get("Channel", ""),
            uniqueid=uid,
            linkedid=h.get("Linkedid") or uid,
            created_at=state.clock,
        )
        state.channels[uid] = chan
    call = Call(
        uniqueid=uid,
        linkedid=h.get("Linkedid") or chan.linkedid,
        channel=chan.name or h.get("Channel", ""),
        started_at=chan.created_at,
        caller_num=chan.caller_num or caller_id(h.get("CallerIDNum")),
        caller_name=chan.caller_name or caller_id(h.get("CallerIDName")),
        since=state.clock,
    )
    state.calls[uid] = call
    send(state, out, CALL_STARTED, call, stage="ivr")
    return call


def finish_ivr(state: TrackerState, out: Outbox, call: Call, agi_status: str | None) -> None:
    if call.ivr_done:
        return
    call.ivr_done = True
    call.ivr_ended_at = state.clock
    call.reading.clear()
    send(
        state,
        out,
        CALL_IVR_FINISHED,
        call,
        ivr_digits="".join(call.digits) or None,
        ivr_choice=call.ivr_choice,
        priority=call.priority,
        queue=call.vars.get(state.queue_var),
        agi_status=agi_status,
        vars=dict(call.vars),
    )


def forget_agents(state: TrackerState, call: Call) -> None:
    agent_calls = state.agent_calls
    for key in [k for k, v in agent_calls.items() if v == call.uniqueid]:
        del agent_calls[key]
    call.agent_uid = None


# ---------------------------------------------------------------------- records


def new_leg(call: Call) -> CallRecord:
    return CallRecord(linkedid=call.linkedid, uniqueid=call.uniqueid, leg=call.legs_done)


def close(
    state: TrackerState,
    out: Outbox,
    call: Call,
    outcome: Outcome,
    hangup_by: str | None,
    ended_at: float,
    *,
    record: CallRecord | None = None,
    recovered: bool = False,
    hold: bool = False,
) -> None:
    """Close a leg into its record and emit it; with ``hold`` keep it on the call
    (``Call.held``) until `release_held`: what the dialplan does next still belongs in it."""
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
    call.bridged = call.bridged or leg.answered_by is not None
    leg.recording_audio = None if call.recording is None else call.bridged
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
    call.left_first = None
    call.position, call.since, call.leg_from_log = None, state.clock, False
    call.last_closed = leg
    forget_agents(state, call)
    release_held(state, out, call)
    if hold:
        call.held = leg
    else:
        emit(state, out, leg)


def release_held(state: TrackerState, out: Outbox, call: Call) -> None:
    """Emit the leg `close` held back, now that the call moved on (hung up, queued again)."""
    held, call.held = call.held, None
    if held is not None:
        emit(state, out, held)


def emit(state: TrackerState, out: Outbox, record: CallRecord) -> None:
    key = record.key
    emitted = state.emitted
    if key in emitted:
        log.warning("call record %s already emitted; dropping the duplicate", key)
        return
    emitted[key] = None
    if len(emitted) > _EMITTED_MEMORY:
        emitted.popitem(last=False)
    out.record(record)
    out.send(CALL_ENDED, record.to_json())


# ------------------------------------------------------------------- publishing


def ids(call: Call) -> dict[str, Any]:
    return {
        "linkedid": call.linkedid,
        "uniqueid": call.uniqueid,
        "channel": call.channel,
        "caller_num": call.caller_num,
        "caller_name": call.caller_name,
    }


def send(state: TrackerState, out: Outbox, topic: str, call: Call, **payload: Any) -> None:
    out.send(topic, {**ids(call), "pbx": state.pbx, "at": state.clock, **payload})


def send_queued(
    state: TrackerState, out: Outbox, call: Call, leg: CallRecord, **extra: Any
) -> None:
    send(
        state,
        out,
        CALL_QUEUED,
        call,
        queue=leg.queue,
        position=call.position,
        priority=call.priority,
        leg=leg.leg,
        **extra,
    )


def send_answered(
    state: TrackerState, out: Outbox, call: Call, leg: CallRecord, **extra: Any
) -> None:
    send(
        state,
        out,
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
