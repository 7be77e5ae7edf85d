"""Channel lifecycle events: which channels exist, which of them are hotline calls (entered
the IVR or a queue), and what a hangup closes. Handlers: ``(state, headers, out) -> None``."""

from __future__ import annotations

from acd.tracker.core import (
    Outbox,
    close,
    finish_ivr,
    forget_agents,
    new_leg,
    release_held,
    start_call,
)
from acd.tracker.state import OUTGOING_APPS, Channel, TrackerState, caller_id, whole_seconds


def on_newchannel(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    uid = h.get("Uniqueid")
    if not uid:
        return
    state.channels[uid] = Channel(
        name=h.get("Channel", ""),
        uniqueid=uid,
        linkedid=h.get("Linkedid") or uid,
        created_at=state.clock,
        caller_num=caller_id(h.get("CallerIDNum")),
        caller_name=caller_id(h.get("CallerIDName")),
    )


def on_newcallerid(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    uid = h.get("Uniqueid", "")
    num, name = caller_id(h.get("CallerIDNum")), caller_id(h.get("CallerIDName"))
    chan = state.channels.get(uid)
    if chan is not None:
        chan.caller_num = num or chan.caller_num
        chan.caller_name = name or chan.caller_name
    call = state.calls.get(uid)
    if call is not None:
        call.caller_num = num or call.caller_num
        call.caller_name = name or call.caller_name


def on_newexten(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    uid = h.get("Uniqueid", "")
    app = h.get("Application", "")
    call = state.calls.get(uid)
    if call is None:
        if app in OUTGOING_APPS:
            return
        if app in ("AGI", "Queue") or h.get("Context") in state.entry_contexts:
            call = start_call(state, out, uid, h)
        else:
            return
    held = call.held
    if app == "Record" and held is not None and held.callback_requested:
        # the callback step records the caller's message (callback-<uniqueid>.wav)
        held.callback_message = h.get("AppData", "").split(",", 1)[0].strip() or None
    if app == "Queue":
        queue = h.get("AppData", "").split(",", 1)[0].strip()
        call.queue_app = (queue, state.clock)
        finish_ivr(state, out, call, None)


def on_hangup_request(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    call = state.calls.get(h.get("Uniqueid", ""))
    if call is not None and call.first_hangup_request is None:
        call.first_hangup_request = h.get("Event")


def on_hangup(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    uid = h.get("Uniqueid", "")
    state.channels.pop(uid, None)
    call = state.calls.pop(uid, None)
    if call is None:
        _agent_hangup(state, uid, h.get("Channel", ""))
        return
    release_held(state, out, call)
    now = state.clock
    leg = call.leg
    if leg is not None:
        if leg.answered_by is not None:
            end = call.talk_end or now
            leg.talk_s = whole_seconds(leg.answered_at or end, end)
            gone = call.left_first or ("agent" if call.agent_gone else "caller")
            close(state, out, call, "answered", gone, end)
        else:
            if leg.wait_s is None:
                leg.wait_s = whole_seconds(leg.queue_entered_at or now, now)
            close(state, out, call, "abandoned", "caller", call.abandon_at or now)
    elif call.legs_done == 0:
        finish_ivr(state, out, call, None)
        record = new_leg(call)
        gone = "ivr" if call.first_hangup_request == "SoftHangupRequest" else "caller"
        close(state, out, call, "ivr_hangup", gone, now, record=record)
    forget_agents(state, call)


def _agent_hangup(state: TrackerState, uid: str, name: str) -> None:
    caller = state.agent_calls.pop(uid, None)
    state.agent_calls.pop(name, None)
    call = state.calls.get(caller) if caller else None
    if call is None:
        return
    call.ringing.pop(uid, None)
    if call.leg is not None and call.agent_uid == uid:
        call.agent_gone = True
        if call.talk_end is None:
            call.talk_end = state.clock
