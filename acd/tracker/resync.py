"""Catching up after an AMI outage: `connection_lost` marks its start, `resync` merges the
CoreShowChannels and QueueStatus snapshots, queue_log and cdr_csv into the tracked calls,
closing what ended meanwhile and emitting the calls that began and ended unseen. Functions
over the tracker's state (`acd.tracker.state.TrackerState`)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from acd.ami.message import AmiMessage
from acd.cdr_csv import CdrEntry
from acd.queue_log import QueueLeg, QueueLogEntry, legs_from_queue_log
from acd.records import CallRecord, Outcome
from acd.tracker.core import (
    Outbox,
    close,
    forget_agents,
    log,
    new_leg,
    release_held,
    send_answered,
    send_queued,
    start_call,
)
from acd.tracker.recovery import live_channels, parse_duration, queue_snapshot
from acd.tracker.state import (
    OUTGOING_APPS,
    Call,
    Channel,
    TrackerState,
    caller_id,
    int_or_none,
    whole_seconds,
)
from acd.tracker.traces import (
    CallTrace,
    RecordingOf,
    fill_in,
    no_recordings,
    rebuilt_call,
    traces_by_uniqueid,
)
from acd.tracker.variables import apply_var
from asterisk_conf.channel_vars import CALLBACK_MESSAGE_NAME
from events.topics import AGENT_STATE


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


def connection_lost(state: TrackerState, at: float | None = None) -> None:
    """Mark the start of an AMI outage (events from then on are missing until resync).

    ``at`` is when events stopped arriving, default the latest time seen; a restarted
    service gives the end of the newest call it stored.
    """
    if state.lost_at is None:
        state.lost_at = state.clock if at is None else at


def resync(
    state: TrackerState,
    out: Outbox,
    channels: list[AmiMessage],
    queue_status: list[AmiMessage],
    queue_log: list[QueueLogEntry],
    cdr: Iterable[CdrEntry] = (),
    *,
    now: float | None = None,
    recording_of: RecordingOf = no_recordings,
    learned: Mapping[str, Mapping[str, str]] | None = None,
) -> list[CallRecord]:
    """Catch up after an AMI reconnect; returns the records closed by the catch-up.

    `channels` is the CoreShowChannels answer, `queue_status` the QueueStatus answer (both
    taken after the reconnect, before new events are handled), `queue_log` the entries
    written since shortly before the outage and `cdr` the cdr_csv entries of the same
    stretch. Calls whose channel is gone are closed from queue_log (or, without a trace
    there, as far as we know) and marked recovered; calls and legs that started during
    the outage are picked up, from queue_log, or from cdr_csv for the callers who hung up
    in the IVR. `now` is the PBX time of the snapshot (default: the latest time seen).
    What the missed events would have told of a call (the IVR's variables, the recording)
    comes from its CDR rows and `recording_of` (the recordings MixMonitor wrote), or for a
    call still up from `learned`: its channel variables by uniqueid, asked of the PBX.
    """
    cdr = list(cdr)
    traces = traces_by_uniqueid(cdr)
    listed = live_channels(channels)
    if listed is None:
        log.warning(
            "resync without a complete CoreShowChannels list: no call is closed "
            "for a vanished channel, only from queue_log"
        )
    snapshot = queue_snapshot(queue_status)
    if not snapshot.complete:
        log.warning("resync without a complete QueueStatus list: queue state not refreshed")
        snapshot.entries, snapshot.members = {}, []
    latest = max([state.clock, *(float(e.time) for e in queue_log)])
    if latest <= 0:
        # A fresh start on a quiet PBX: no event and no queue_log line dates the snapshot,
        # and channel ages (Duration) must not count back from the epoch.
        latest = time.time()
    now = latest if now is None else now
    lost_at = state.lost_at if state.lost_at is not None else now
    state.clock = max(state.clock, now)
    closed: list[CallRecord] = []
    collect = out.on_record

    def on_record(record: CallRecord) -> None:
        closed.append(record)
        if collect is not None:
            collect(record)

    # The same way out, but the records closed by the catch-up are also kept to return.
    out = Outbox(out.publish, on_record)
    try:
        if snapshot.complete:
            _resync_members(state, out, snapshot.members)
        if listed is not None:
            _resync_channels(state, out, listed, now)
        # Without a channel list, every call we track is taken to be still up.
        alive = listed if listed is not None else {uid: {} for uid in state.calls}
        log_legs: dict[str, list[QueueLeg]] = {}
        for leg in legs_from_queue_log(queue_log):
            log_legs.setdefault(leg.callid, []).append(leg)
        for call in list(state.calls.values()):
            # A call gone meanwhile has its CDR written; one still up may have started its
            # MixMonitor unseen (the feed asks a live channel for its variables itself).
            gone = call.uniqueid not in alive
            # A hang-up request may have come unseen: a later one does not say who was first.
            call.first_hangup_request = call.first_hangup_request or "missed"
            for name, value in (learned or {}).get(call.uniqueid, {}).items():
                apply_var(state, out, call, name, value)
            fill_in(state, out, call, traces.get(call.uniqueid) if gone else None, recording_of)
            _resync_call(
                state, out, call, log_legs.pop(call.uniqueid, []), alive, snapshot.entries, now
            )
        for callid, legs in log_legs.items():
            if callid not in alive:
                trace = traces.get(callid)
                _emit_unseen(state, out, callid, legs, int(lost_at), trace, recording_of)
        in_log = {e.callid for e in queue_log}
        _emit_unseen_ivr_hangups(state, out, cdr, traces, alive, in_log, int(lost_at))
    finally:
        state.lost_at = None
    return closed


def _resync_members(state: TrackerState, out: Outbox, members: list[dict[str, str]]) -> None:
    changed = [state.board.apply("QueueMember", m) for m in members]
    state.board.replace_all([s for s in changed if s is not None])
    for member in state.board.all():
        out.send(AGENT_STATE, {**member, "at": state.clock})


def _resync_channels(
    state: TrackerState, out: Outbox, alive: dict[str, dict[str, str]], now: float
) -> None:
    for uid in [uid for uid in state.channels if uid not in alive]:
        del state.channels[uid]
    for uid, h in alive.items():
        if uid not in state.channels:
            state.channels[uid] = Channel(
                name=h.get("Channel", ""),
                uniqueid=uid,
                linkedid=h.get("Linkedid") or uid,
                created_at=now - parse_duration(h.get("Duration")),
                caller_num=caller_id(h.get("CallerIDNum")),
                caller_name=caller_id(h.get("CallerIDName")),
            )
        if uid in state.calls:
            continue
        if may_be_call(state, h):
            call = start_call(state, out, uid, h)
            if h.get("Application") != "AGI":
                # Past the IVR: what it collected was set while we were away.
                call.ivr_done = True


def may_be_call(state: TrackerState, h: dict[str, str]) -> bool:
    """A channel found up after an outage is a caller's: it runs the IVR (AGI) or waits in
    a queue, or runs other dialplan of the hotline's entry contexts."""
    app = h.get("Application", "")
    return app in ("AGI", "Queue") or (
        bool(app) and app not in OUTGOING_APPS and h.get("Context") in state.entry_contexts
    )


def _resync_call(
    state: TrackerState,
    out: Outbox,
    call: Call,
    log_legs: list[QueueLeg],
    alive: dict[str, dict[str, str]],
    entries: dict[str, dict[str, str]],
    now: float,
) -> None:
    # A visit queue_log closed in this catch-up: queue_log is read after the snapshot.
    closed_by_log: CallRecord | None = None
    for found in _align(call, log_legs):
        if found.leg < call.legs_done:
            continue
        open_leg = call.leg
        if open_leg is not None and found.leg > open_leg.leg:
            # A later queue visit: the open leg was left for it (transfer/redirect).
            _close_as_known(state, out, call, now, alive=True)
            open_leg = None
        created = open_leg is None
        if open_leg is None:
            open_leg = new_leg(call)
            open_leg.leg = found.leg
            open_leg.queue = found.queue
            open_leg.queue_entered_at = float(found.entered_at)
            call.leg, call.leg_from_log = open_leg, True
            call.ivr_done = True
        answered = _merge_log_leg(state, out, call, open_leg, found)
        if call.leg is open_leg:
            _announce(state, out, call, open_leg, queued=created, answered=answered)
        else:
            closed_by_log = open_leg
    uid = call.uniqueid
    if call.held is not None:
        # the callback step that would have released it was missed: finished by the resync
        call.held.recovered = True
        release_held(state, out, call)
    if uid not in alive:
        if call.leg is not None:
            _close_as_known(state, out, call, now, alive=False)
        elif call.legs_done == 0:
            record = new_leg(call)
            close(state, out, call, "ivr_hangup", "caller", now, record=record, recovered=True)
        state.calls.pop(uid, None)
        forget_agents(state, call)
        return
    entry = entries.get(uid)
    if entry is None:
        return
    queue, entered = entry.get("Queue"), now - (int_or_none(entry.get("Wait")) or 0)
    done = call.last_closed
    if (
        call.leg is None
        and done is not None
        and done.queue == queue
        # Every visit the snapshot shows has its ENTERQUEUE in the queue_log read after it:
        # a visit to the same queue that queue_log closed is the one the snapshot shows.
        # ``entered`` alone cannot tell, as ``now`` may be queue_log's newest line, later
        # than the snapshot.
        and (done is closed_by_log or entered <= (done.queue_entered_at or 0.0) + 1.5)
    ):
        return  # the visit queue_log already closed; its AMI events are still to come
    if call.leg is None or call.leg.queue != queue:
        if call.leg is not None:
            _close_as_known(state, out, call, now, alive=True)
        record = new_leg(call)
        record.queue, record.queue_entered_at = queue, entered
        call.leg, call.leg_from_log, call.ivr_done = record, True, True
        call.position = int_or_none(entry.get("Position"))
        _announce(state, out, call, record, queued=True, answered=False)
    call.position = int_or_none(entry.get("Position"))


def _announce(
    state: TrackerState, out: Outbox, call: Call, leg: CallRecord, *, queued: bool, answered: bool
) -> None:
    """Tell subscribers about a leg (or its answer) that happened while we were away."""
    if queued:
        send_queued(state, out, call, leg, recovered=True)
    if answered:
        send_answered(state, out, call, leg, recovered=True)


def _merge_log_leg(
    state: TrackerState, out: Outbox, call: Call, leg: CallRecord, found: QueueLeg
) -> bool:
    """Apply queue_log's view of a leg; True if it told us of an answer we missed."""
    answered = found.answered_by is not None and leg.answered_by is None
    if answered:
        leg.answered_by = found.answered_by
        leg.member_interface = state.board.interface_of(found.queue, found.answered_by)
        leg.answered_at = float(found.connected_at or found.entered_at)
        call.ringing.clear()
    if found.wait_s is not None:
        leg.wait_s = found.wait_s
    for member in found.ring_no_answer[len(leg.ring_no_answer) :]:
        leg.ring_no_answer.append(member)
    if found.outcome is None:
        return answered
    if found.talk_s is not None:
        leg.talk_s = found.talk_s
    close(
        state,
        out,
        call,
        found.outcome,
        found.hangup_by,
        float(found.ended_at or state.clock),
        recovered=True,
    )
    return answered


def _close_as_known(
    state: TrackerState, out: Outbox, call: Call, now: float, *, alive: bool
) -> None:
    """Close the open leg without queue_log's word: from what the events told us."""
    leg = call.leg
    assert leg is not None
    end = call.talk_end or now
    if leg.answered_by is not None:
        if leg.talk_s is None:
            leg.talk_s = whole_seconds(leg.answered_at or end, end)
        outcome: Outcome = "transferred" if alive else "answered"
        close(state, out, call, outcome, None, end, recovered=True)
        return
    if leg.wait_s is None:
        leg.wait_s = whole_seconds(leg.queue_entered_at or now, call.abandon_at or now)
    close(
        state,
        out,
        call,
        "abandoned",
        None if alive else "caller",
        call.abandon_at or now,
        recovered=True,
    )


def _emit_unseen(
    state: TrackerState,
    out: Outbox,
    callid: str,
    legs: list[QueueLeg],
    lost_at: int,
    trace: CallTrace | None,
    recording_of: RecordingOf,
) -> None:
    """Queue visits of a call that began and ended while we were away: queue_log tells the
    visits, the CDR (``trace``) the linkedid, caller and the IVR's decisions, and the
    recordings directory the recording."""
    # Ended before the outage: handled live back then.
    unseen = [
        found
        for found in legs
        if found.outcome is not None
        and (found.ended_at or 0) >= lost_at
        and f"{callid}#{found.leg}" not in state.emitted
    ]
    if not unseen:
        return
    call = rebuilt_call(callid, trace, unseen[0].caller_num, float(unseen[0].entered_at))
    fill_in(state, out, call, trace, recording_of)
    for found in unseen:
        assert found.outcome is not None
        record = CallRecord(linkedid=call.linkedid, uniqueid=callid, leg=found.leg)
        record.queue = found.queue
        record.queue_entered_at = float(found.entered_at)
        record.wait_s, record.talk_s = found.wait_s, found.talk_s
        record.answered_by = found.answered_by
        record.member_interface = state.board.interface_of(found.queue, found.answered_by)
        record.ring_no_answer = list(found.ring_no_answer)
        record.answered_at = float(found.connected_at) if found.connected_at else None
        if found.callback_requested:
            # CALLBACKREQ: the dialplan's callback step ran, and Record() left the message
            # beside the recordings; whoever calls back needs both.
            call.callback_requested = True
            record.callback_message = recording_of(callid, CALLBACK_MESSAGE_NAME)
        if found.transfer_to is not None:
            record.transferred_to = found.transfer_to
        ended = float(found.ended_at or found.entered_at)
        close(
            state, out, call, found.outcome, found.hangup_by, ended, record=record, recovered=True
        )


def _emit_unseen_ivr_hangups(
    state: TrackerState,
    out: Outbox,
    cdr: Iterable[CdrEntry],
    traces: dict[str, CallTrace],
    alive: dict[str, dict[str, str]],
    in_log: set[str],
    lost_at: int,
) -> None:
    """Callers who began and ended in the IVR while we were away: they never reached a
    queue, so only their CDR (the hotline-side channel's) tells of them."""
    first: dict[str, CdrEntry] = {}
    last: dict[str, CdrEntry] = {}
    for entry in cdr:
        uid = entry.uniqueid
        if (
            entry.dcontext not in state.entry_contexts
            # The ;1 half of a Local caller is the citizen's phone, not the hotline side.
            or entry.channel.endswith(";1")
            or uid in alive
            or uid in in_log
        ):
            continue
        if uid not in first or entry.start < first[uid].start:
            first[uid] = entry
        if uid not in last or entry.end >= last[uid].end:
            last[uid] = entry
    for uid, entry in last.items():
        # A CDR is written when the channel ends, or at a bridge segment's end: a
        # channel that ran Queue() or was bridged is queue_log's to tell.
        if entry.end < lost_at or entry.lastapp == "Queue" or entry.dstchannel:
            continue
        record = CallRecord(linkedid=entry.linkedid, uniqueid=uid)
        if record.key in state.emitted or uid in state.calls:
            continue
        call = rebuilt_call(uid, traces.get(uid), entry.caller_num, first[uid].start)
        call.caller_num = call.caller_num or entry.caller_num
        call.started_at = first[uid].start
        fill_in(state, out, call, traces.get(uid), no_recordings)
        close(state, out, call, "ivr_hangup", "caller", entry.end, record=record, recovered=True)
