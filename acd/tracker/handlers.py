"""The call tracker's event table: AMI event name → the plain function that handles it,
``(state, headers, out) -> None``. Every event not named here is dropped unparsed."""

from __future__ import annotations

from collections.abc import Callable

from acd.tracker import channels, ivr, member_events, queue_events, variables
from acd.tracker.core import Outbox
from acd.tracker.state import TrackerState

Handler = Callable[[TrackerState, dict[str, str], Outbox], None]

HANDLERS: dict[str, Handler] = {
    # channel lifecycle
    "Newchannel": channels.on_newchannel,
    "NewCallerid": channels.on_newcallerid,
    "Newexten": channels.on_newexten,
    "Hangup": channels.on_hangup,
    # who asked first: the caller's end (HangupRequest) or the PBX itself (SoftHangupRequest)
    "HangupRequest": channels.on_hangup_request,
    "SoftHangupRequest": channels.on_hangup_request,
    # channel variables: the IVR's outcome, recording, AGI and Queue() results
    "VarSet": variables.on_varset,
    # the IVR's key presses
    "DTMFEnd": ivr.on_dtmf,
    "AGIExecStart": ivr.on_agi_start,
    "AGIExecEnd": ivr.on_agi_end,
    # queue legs
    "QueueCallerJoin": queue_events.on_join,
    "QueueCallerLeave": queue_events.on_leave,
    "QueueCallerAbandon": queue_events.on_abandon,
    "AgentCalled": queue_events.on_agent_called,
    "AgentRingNoAnswer": queue_events.on_ring_no_answer,
    "AgentConnect": queue_events.on_agent_connect,
    "AgentComplete": queue_events.on_agent_complete,
    "BridgeEnter": queue_events.on_bridge_enter,
    "BridgeLeave": queue_events.on_bridge_leave,
    "ChanSpyStart": queue_events.on_spy_start,
    "BlindTransfer": queue_events.on_blind_transfer,
    "UserEvent": queue_events.on_user_event,
    # queue members (the wallboard)
    "QueueMemberStatus": member_events.on_member_status,
    "QueueMemberPause": member_events.on_member_pause,
    "QueueMemberAdded": member_events.on_member_added,
    "QueueMemberRemoved": member_events.on_member_removed,
    "QueueMemberPenalty": member_events.on_member_penalty,
    "QueueMemberRinginuse": member_events.on_member_ringinuse,
    "QueueMember": member_events.on_member_listed,
}
