"""What the simulated PBX keeps track of: queues, members, their phones, rings and calls."""

from __future__ import annotations

from dataclasses import dataclass, field

from .channels import Channel
from .model import AgentBehaviour, CallerScript, CallTruth, QueueConfig
from .scheduler import Timer


@dataclass(slots=True)
class Member:
    name: str
    interface: str
    state_interface: str
    penalty: int
    paused: bool
    paused_reason: str
    membership: str
    login_time: int
    behaviour: AgentBehaviour
    calls_taken: int = 0
    last_call: int = 0
    last_pause: int = 0


@dataclass(slots=True)
class Device:
    """The member's phone (its state interface), shared by all its queues."""

    name: str
    state: str = "NOT_INUSE"


@dataclass(slots=True)
class Ring:
    member: Member
    ch1: Channel
    ch2: Channel
    started: float
    talk_s: float
    timer: Timer | None = None


@dataclass(slots=True)
class Entry:
    """A caller waiting in a queue."""

    call: Call
    queue: QueueState
    joined: float
    orig_pos: int
    prio: int
    seq: int
    ring: Ring | None = None
    rings: int = 0
    retry_timer: Timer | None = None
    poll_timer: Timer | None = None
    timers: list[Timer] = field(default_factory=list)


@dataclass(slots=True)
class QueueState:
    config: QueueConfig
    members: list[Member] = field(default_factory=list)
    waiting: list[Entry] = field(default_factory=list)
    rr_pos: int = 0
    completed: int = 0
    abandoned: int = 0
    holdtime_total: int = 0
    talktime_total: int = 0
    within_sl: int = 0

    @property
    def name(self) -> str:
        return self.config.name


@dataclass(slots=True, eq=False)
class Call:
    script: CallerScript
    ch1: Channel
    ch2: Channel
    truth: CallTruth
    phase: str = "answer"
    timers: list[Timer] = field(default_factory=list)
    queue_name: str = ""
    prio: int = 0
    entry: Entry | None = None
    connected: Ring | None = None
    connected_at: float = 0.0
    hold_s: int = 0
    bridge_id: str = ""
    command_id: str = ""
    hangup_timer: Timer | None = None
    ivr_vars: dict[str, str] = field(default_factory=dict)
    # The IVR sent AGI HANGUP: it, not the caller, ended the call.
    ivr_hung_up: bool = False
    legs: list[CallTruth] = field(default_factory=list)
    # Queue legs left by AMI Redirect: app_queue closes them only when the call ends.
    pending: list[tuple[QueueState, Member, int, float, int]] = field(default_factory=list)
    transferred: bool = False


def exten_of(interface: str) -> tuple[str, str]:
    """``Local/agent1@agent-robot/n`` -> (``agent1``, ``agent-robot``)."""
    body = interface.split("/", 1)[1].rsplit("/", 1)[0]
    exten, _, context = body.partition("@")
    return exten, context
