"""What the call tracker remembers: live channels, calls in flight, the member board and its
clock, all in one plain `TrackerState`; and the small value helpers every part of it shares."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from acd.records import DEFAULT_PBX, CallRecord
from acd.tracker.duplicates import RecentEvents
from acd.tracker.members import MemberBoard

# Pseudo-applications of channels dialled by Dial()/Queue(): never a caller's own dialplan.
OUTGOING_APPS = frozenset({"AppDial", "AppDial2", "AppQueue"})


def caller_id(value: str | None) -> str | None:
    return None if value in (None, "", "<unknown>") else value


def int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def whole_seconds(start: float, end: float) -> int:
    """A duration the way app_queue counts it: difference of whole-second clocks."""
    return max(0, int(end) - int(start))


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
    # The first hang-up request on the hotline-side channel: HangupRequest when the other end
    # (the caller) went, SoftHangupRequest when something on the PBX ended it, such as the
    # IVR's AGI HANGUP after emergency guidance or a night callback (Asterisk 22 sends the
    # other one too, later).
    first_hangup_request: str | None = None
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
    # "caller" or "agent": who left the conversation's bridge first (BridgeLeave).
    left_first: str | None = None
    # The open leg was rebuilt from queue_log during a resync: a late QueueCallerJoin for
    # the same queue is that leg's own join, not a transfer.
    leg_from_log: bool = False
    last_closed: CallRecord | None = None
    # What the IVR reported in its HOTLINE_* channel variables (asterisk_conf/channel_vars.py):
    # the menu nodes walked replace the HOTLINE_CHOICE history as the record's ivr_path; the
    # keys it received stand in for ivr_digits when AMI showed no DTMF.
    menu_path: list[str] | None = None
    ivr_keys: str | None = None
    incident_id: str | None = None
    callback_requested: bool = False
    language: str | None = None
    survey: str | None = None
    # An agent answered on some leg: from then on the recording holds conversation.
    bridged: bool = False
    # A leg Queue() ended without an agent (timeout, leave-empty): the dialplan's next step
    # may be the callback (UserEvent, then the message's Record()), which belongs in the
    # record, so it is emitted once the call hangs up or goes on to another queue.
    held: CallRecord | None = None

    @property
    def stage(self) -> str:
        leg = self.leg
        if leg is None:
            # "routing": between queue visits or after the last one (callback step…).
            return "routing" if self.legs_done else "ivr"
        if leg.answered_at is not None or leg.answered_by is not None:
            return "talking"
        return "ringing" if self.ringing else "queued"


@dataclass(slots=True)
class TrackerState:
    """Everything the call tracker remembers between two events; the handlers
    (`acd.tracker.handlers.HANDLERS`) change it in place, the resync merges snapshots into it.

    The contract's variable names are held here, read once from asterisk_conf/channel_vars.py
    when the tracker is built, so that renaming one there (or in a test) is followed everywhere.
    """

    entry_contexts: frozenset[str]
    # The channel variable naming the queue the IVR chose (the contract's HOTLINE_QUEUE).
    queue_var: str
    # HOTLINE_SURVEY: may name a call the tracker never followed.
    survey_var: str
    # The contract's other IVR variables → what each tells ("choice", "priority", …).
    ivr_vars: dict[str, str]
    # The PBX these events come from: every call.* event names it, since a linkedid or an
    # interface is unique on one PBX only (a desk's pop is keyed by (pbx, linkedid)).
    pbx: str = DEFAULT_PBX
    channels: dict[str, Channel] = field(default_factory=dict)
    calls: dict[str, Call] = field(default_factory=dict)
    # Agent-side channel (uniqueid and name) → caller uniqueid, while ringing or talking.
    agent_calls: dict[str, str] = field(default_factory=dict)
    # Keys of the records already emitted (oldest first, bounded): each leg is emitted once.
    emitted: OrderedDict[str, None] = field(default_factory=OrderedDict)
    board: MemberBoard = field(default_factory=MemberBoard)
    recent: RecentEvents = field(default_factory=RecentEvents)
    # The latest event Timestamp seen: the tracker has no clock of its own.
    clock: float = 0.0
    lost_at: float | None = None
