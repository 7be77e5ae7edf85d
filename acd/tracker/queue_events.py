"""app_queue's view of a call, one queue leg at a time: joins, leaves, abandons, agents
ringing and answering, completion, and what happens to a leg mid-call (bridge, blind
transfer, supervisor spying, callback request). Handlers: ``(state, headers, out) -> None``;
`on_queue_status` is Queue()'s result, read from its VarSet (acd.tracker.variables)."""

from __future__ import annotations

from acd.tracker.core import (
    Outbox,
    close,
    finish_ivr,
    log,
    new_leg,
    release_held,
    send,
    send_answered,
    send_queued,
    start_call,
)
from acd.tracker.state import Call, TrackerState, int_or_none, whole_seconds
from events.topics import (
    CALL_ABANDONED,
    CALL_CALLBACK_REQUESTED,
    CALL_LEFT,
    CALL_RING_NO_ANSWER,
    CALL_RINGING,
    CALL_SPIED,
)

# Queue() results that mean "no agent could ever take the call" (joinempty/leavewhenempty…).
_EMPTY_STATUSES = frozenset({"JOINEMPTY", "LEAVEEMPTY", "JOINUNAVAIL", "LEAVEUNAVAIL", "FULL"})


def on_join(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    uid = h.get("Uniqueid")
    if not uid:
        return
    call = state.calls.get(uid) or start_call(state, out, uid, h)
    finish_ivr(state, out, call, None)
    release_held(state, out, call)
    queue = h.get("Queue")
    leg = call.leg
    if leg is not None:
        if call.leg_from_log and leg.queue == queue and leg.answered_by is None:
            leg.queue_entered_at = state.clock
            call.leg_from_log = False
            call.position = int_or_none(h.get("Position"))
            return
        if leg.transferred_to is None:
            leg.transferred_to = queue
        _leave_for_next_queue(state, out, call)
    record = new_leg(call)
    record.queue = queue
    record.queue_entered_at = state.clock
    call.leg = record
    call.position = int_or_none(h.get("Position"))
    call.since = state.clock
    send_queued(state, out, call, record)


def _leave_for_next_queue(state: TrackerState, out: Outbox, call: Call) -> None:
    """The caller joins another queue with a leg still open: moved by AMI Redirect (or
    similar) without any transfer event; app_queue closes that leg only at the very end."""
    leg = call.leg
    assert leg is not None
    if leg.answered_by is not None:
        end = call.talk_end or state.clock
        leg.talk_s = whole_seconds(leg.answered_at or end, end)
        close(state, out, call, "transferred", None, end)
    else:
        if leg.wait_s is None:
            leg.wait_s = whole_seconds(leg.queue_entered_at or state.clock, state.clock)
        close(state, out, call, "abandoned", None, state.clock)


def on_leave(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    call = state.calls.get(h.get("Uniqueid", ""))
    queue, position = h.get("Queue"), int_or_none(h.get("Position"))
    if position is not None:
        for other in state.calls.values():
            if (
                other is not call
                and other.leg is not None
                and other.leg.queue == queue
                and other.position is not None
                and other.position > position
            ):
                other.position -= 1
    if call is None or call.leg is None:
        return
    call.position = None
    send(
        state,
        out,
        CALL_LEFT,
        call,
        queue=queue,
        leg=call.leg.leg,
        position=position,
        count=int_or_none(h.get("Count")),
    )


def on_abandon(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    call = state.calls.get(h.get("Uniqueid", ""))
    if call is None or call.leg is None:
        return
    call.leg.wait_s = int_or_none(h.get("HoldTime"))
    call.abandon_at = state.clock
    call.ringing.clear()
    send(
        state,
        out,
        CALL_ABANDONED,
        call,
        queue=call.leg.queue,
        leg=call.leg.leg,
        position=int_or_none(h.get("Position")),
        wait_s=call.leg.wait_s,
    )


def on_queue_status(state: TrackerState, out: Outbox, call: Call, status: str) -> None:
    leg = call.leg
    now = state.clock
    if status == "TIMEOUT" and leg is not None and leg.answered_by is None:
        if leg.wait_s is None:
            leg.wait_s = whole_seconds(leg.queue_entered_at or now, now)
        # held: the callback step (UserEvent, Record()) comes next and belongs in the record
        close(state, out, call, "timeout", None, call.abandon_at or now, hold=True)
    elif status in _EMPTY_STATUSES:
        if leg is None:
            queue, at = call.queue_app or (call.vars.get(state.queue_var), now)
            done = call.last_closed
            if (
                done is not None
                and done.recovered
                and done.outcome == "joinempty"
                and (queue is None or done.queue == queue)
            ):
                return  # already rebuilt from queue_log during a resync
            record = new_leg(call)
            record.queue, record.queue_entered_at, record.wait_s = queue, at, 0
            close(state, out, call, "joinempty", None, now, record=record)
        elif leg.answered_by is None:
            if leg.wait_s is None:
                leg.wait_s = whole_seconds(leg.queue_entered_at or now, now)
            # left when the queue emptied: the dialplan offers the callback step too
            close(state, out, call, "joinempty", None, now, hold=True)


def on_agent_called(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    call = state.calls.get(h.get("Uniqueid", ""))
    if call is None or call.leg is None:
        return
    dest = h.get("DestUniqueid") or h.get("DestChannel") or ""
    member, interface, channel = h.get("MemberName"), h.get("Interface"), h.get("DestChannel")
    call.ringing[dest] = (member, interface, channel)
    state.agent_calls[dest] = call.uniqueid
    call.since = state.clock
    send(
        state,
        out,
        CALL_RINGING,
        call,
        queue=call.leg.queue,
        leg=call.leg.leg,
        member=member,
        interface=interface,
        agent_channel=channel,
        ivr_digits="".join(call.digits) or None,
        ivr_choice=call.ivr_choice,
        priority=call.priority,
        vars=dict(call.vars),
    )


def on_ring_no_answer(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    call = state.calls.get(h.get("Uniqueid", ""))
    if call is None or call.leg is None:
        return
    member = h.get("MemberName") or ""
    call.leg.ring_no_answer.append(member)
    call.ringing.pop(h.get("DestUniqueid") or h.get("DestChannel") or "", None)
    send(
        state,
        out,
        CALL_RING_NO_ANSWER,
        call,
        queue=call.leg.queue,
        leg=call.leg.leg,
        member=member,
        interface=h.get("Interface"),
        ring_ms=int_or_none(h.get("RingTime")),
    )


def on_agent_connect(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    call = state.calls.get(h.get("Uniqueid", ""))
    if call is None or call.leg is None:
        return
    leg = call.leg
    leg.answered_by = h.get("MemberName")
    leg.member_interface = h.get("Interface")
    leg.agent_channel = h.get("DestChannel")
    call.bridged = True
    leg.wait_s = int_or_none(h.get("HoldTime"))
    leg.answered_at = state.clock
    call.ringing.clear()
    call.position = None
    call.since = state.clock
    call.agent_uid = h.get("DestUniqueid")
    call.talk_end, call.agent_gone, call.left_first = None, False, None
    for key in (call.agent_uid, leg.agent_channel):
        if key:
            state.agent_calls[key] = call.uniqueid
    send_answered(state, out, call, leg)


def on_agent_complete(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    uid = h.get("Uniqueid")
    if not uid:
        # AMI Redirect: app_queue reports the first leg only when the caller finally hangs
        # up, with no channel fields; that leg was closed when the caller joined again.
        log.debug(
            "AgentComplete without channel for %s/%s ignored",
            h.get("Queue"),
            h.get("MemberName"),
        )
        return
    call = state.calls.get(uid)
    if call is None or call.leg is None or call.leg.answered_by is None:
        return
    leg = call.leg
    if leg.queue != h.get("Queue"):
        return
    leg.talk_s = int_or_none(h.get("TalkTime"))
    reason = h.get("Reason", "")
    if reason == "transfer":
        close(state, out, call, "transferred", None, state.clock)
    else:
        close(
            state,
            out,
            call,
            "answered",
            reason if reason in ("caller", "agent") else None,
            state.clock,
        )


def on_blind_transfer(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    call = state.calls.get(h.get("TransfereeUniqueid", ""))
    if call is not None and call.leg is not None and h.get("Result", "Success") == "Success":
        call.leg.transferred_to = f"{h.get('Extension', '')}@{h.get('Context', '')}"


def on_bridge_enter(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    call = state.calls.get(h.get("Uniqueid", ""))
    if call is not None and call.leg is not None and call.leg.answered_by is not None:
        call.talk_end = None
        call.left_first = None


def on_bridge_leave(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    uid = h.get("Uniqueid", "")
    call = state.calls.get(uid)
    side = "caller"
    if call is None:
        # the agent's side of the conversation leaving
        caller = state.agent_calls.get(uid)
        call = state.calls.get(caller) if caller else None
        side = "agent"
    if call is None or call.leg is None or call.leg.answered_by is None:
        return
    # Who hung up is who left the bridge first: the Hangup events of the two channels may
    # come in either order (the agent's first even when the caller put the phone down).
    if call.left_first is None:
        call.left_first = side
    if side == "caller":
        call.talk_end = state.clock


def on_spy_start(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    spyee_uid, spyee = h.get("SpyeeUniqueid", ""), h.get("SpyeeChannel", "")
    caller = state.agent_calls.get(spyee_uid) or state.agent_calls.get(spyee)
    if caller is None and spyee[-2:] in (";1", ";2"):
        # The other half of a Local agent channel is the same agent.
        caller = state.agent_calls.get(spyee[:-1] + ("2" if spyee[-1] == "1" else "1"))
    call = state.calls.get(caller) if caller else None
    if call is None or call.leg is None or call.leg.answered_by is None:
        return
    if call.leg.spied_by is None:
        call.leg.spied_by = h.get("SpyerChannel")
    send(
        state,
        out,
        CALL_SPIED,
        call,
        queue=call.leg.queue,
        leg=call.leg.leg,
        spyer_channel=h.get("SpyerChannel"),
        spyee_channel=spyee,
    )


def on_user_event(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    if h.get("UserEvent") != "HotlineCallbackRequest":
        return
    call = state.calls.get(h.get("Uniqueid", ""))
    if call is not None:
        # the leg Queue() just gave up on (held by on_queue_status) asks to be called back;
        # the rendered dialplan names the message Record() is about to take (Message)
        held = call.held
        if held is not None:
            held.callback_requested = True
            held.callback_message = h.get("Message") or None
        send(state, out, CALL_CALLBACK_REQUESTED, call, queue=h.get("Queue"))
        release_held(state, out, call)
