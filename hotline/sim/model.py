"""What the simulated PBX is configured with, what each caller does, and what really happened.

``CallTruth`` has exactly the fields of the captures' ``expected.json``: the simulator's own
record of each call, the truth the call tracker's output is checked against.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

# The FastAGI IVR menu of the captures (README, "FastAGI IVR"): key -> queue, choice, priority.
MENU: dict[str, tuple[str, str, int]] = {
    "1": ("hotline-general", "1", 0),
    "2": ("hotline-complaint", "2", 0),
    "3": ("hotline-general", "3", 5),
    "4": ("hotline-report", "4", 0),
    "0": ("hotline-general", "0", 0),
}
TIMEOUT_CHOICE: tuple[str, str, int] = ("hotline-general", "timeout", 0)
INVALID_CHOICE: tuple[str, str, int] = ("hotline-general", "invalid", 0)


def menu_choice(digit: str | None) -> tuple[str, str, int]:
    if digit is None:
        return TIMEOUT_CHOICE
    return MENU.get(digit, INVALID_CHOICE)


class AgentBehaviour(Protocol):
    """How a member's phone behaves when rung (seconds; a ring >= 99 never answers)."""

    def ring_time(self, rng: random.Random) -> float: ...

    def talk_time(self, rng: random.Random) -> float: ...


@dataclass(frozen=True, slots=True)
class FixedBehaviour:
    ring: float = 3.0
    talk: float = 60.0

    def ring_time(self, rng: random.Random) -> float:
        return self.ring

    def talk_time(self, rng: random.Random) -> float:
        return self.talk


@dataclass(slots=True)
class QueueConfig:
    name: str
    joinempty: bool = True
    timeout: float = 15.0
    retry: float = 2.0
    servicelevel: int = 15
    strategy: str = "rrmemory"


@dataclass(slots=True)
class MemberConfig:
    name: str
    interface: str
    state_interface: str
    queues: list[str]
    penalty: int = 0
    paused: bool = False
    behaviour: AgentBehaviour = field(default_factory=FixedBehaviour)


def robot_member(
    n: int,
    queues: list[str],
    behaviour: AgentBehaviour | None = None,
) -> MemberConfig:
    """A queue member as the captures define them (``Local/agentN@agent-robot/n``)."""
    return MemberConfig(
        name=f"Robot Agent {n}",
        interface=f"Local/agent{n}@agent-robot/n",
        state_interface=f"Custom:agent{n}",
        queues=list(queues),
        behaviour=behaviour or FixedBehaviour(),
    )


def sip_member(
    n: int,
    queues: list[str],
    behaviour: AgentBehaviour | None = None,
) -> MemberConfig:
    """A SIP phone member (``PJSIP/agent-sipN``, its own state interface)."""
    return MemberConfig(
        name=f"SIP Agent {n}",
        interface=f"PJSIP/agent-sip{n}",
        state_interface=f"PJSIP/agent-sip{n}",
        queues=list(queues),
        behaviour=behaviour or FixedBehaviour(),
    )


def default_queues() -> list[QueueConfig]:
    return [
        QueueConfig("hotline-general"),
        QueueConfig("hotline-complaint"),
        QueueConfig("hotline-report", joinempty=False),
    ]


@dataclass(slots=True)
class PbxConfig:
    queues: list[QueueConfig] = field(default_factory=default_queues)
    members: list[MemberConfig] = field(default_factory=list)
    record_calls: bool = True
    queue_max_wait: int = 60
    # Where MixMonitor and the callback step's Record() write (the rendered dialplan uses the
    # setting asterisk.recordings_dir); the captures' packaged default.
    recordings_dir: str = "/var/spool/asterisk/monitor"
    # The callback step's UserEvent names the message (Message:), as the rendered dialplan
    # does; off for the captures' dialplan, which did not.
    callback_message_event: bool = False
    agi_url: str = "agi://127.0.0.1:4573/ivr"
    survey_url: str = "agi://127.0.0.1:4573/survey"
    # SIP mode (the sip_call capture): callers are PJSIP/pstn-trunk-… channels, one per call.
    sip: bool = False
    # Used for members added over AMI (QueueAdd), which have no configured behaviour.
    default_behaviour: AgentBehaviour = field(default_factory=FixedBehaviour)
    # The queues' music-on-hold class (MusicOnHoldStart's Class): the rendered queues.conf's
    # musicclass, "default" for whole files, "hotline" for fragments that leave an existing
    # musiconhold.conf's [default] alone (asterisk_conf.render.MOH_CLASS).
    moh_class: str = "default"


INFINITY = float("inf")


@dataclass(slots=True)
class CallerScript:
    """What one caller will do; the traffic model draws these, tests write them by hand."""

    caller_num: str
    caller_name: str
    dtmf: str | None = "1"
    # Seconds after GET DATA starts that the key is pressed (>= 5: the IVR times out).
    dtmf_delay: float = 0.7
    # Seconds after the IVR answers that the caller hangs up in the IVR (None: does not).
    ivr_hangup_after: float | None = None
    # Seconds the caller is willing to wait in the queue before hanging up.
    patience: float = INFINITY
    # Seconds of conversation after which the caller hangs up (the agent may end it first).
    talk_limit: float = INFINITY
    # Seconds after the IVR answers that the caller hangs up whatever is happening (the
    # capture robots' ROBOT_HOLD); None: only patience / talk_limit / ivr_hangup_after apply.
    hangup_after: float | None = None
    # Seconds into the conversation the agent blind-transfers the call to the complaint
    # queue (AMI BlindTransfer to [hotline-transfer] complaint), if answered in one of
    # ``transfer_from``.
    transfer_after: float | None = None
    transfer_from: tuple[str, ...] = ("hotline-general",)
    # AMI Redirect of the caller's channel instead of BlindTransfer of the agent's.
    transfer_by_redirect: bool = False
    # The key pressed in the post-call survey (AGI(agi://…/survey) once the agent hangs up;
    # needs a FastAGI IVR, see agi_driver). None: no survey, the caller's channel ends then.
    survey: str | None = None


@dataclass(slots=True)
class CallTruth:
    linkedid: str
    uniqueid: str
    caller_num: str
    caller_name: str
    ivr_digits: str | None = None
    queue: str | None = None
    queue_entered_at: float | None = None
    outcome: str | None = None
    wait_s: int | None = None
    answered_by: str | None = None
    member_interface: str | None = None
    ring_no_answer: list[str] = field(default_factory=list)
    talk_s: int | None = None
    hangup_by: str | None = None
    recording: str | None = None
    spied_by: str | None = None
    # Not in expected.json: when the call started and ended (simulated epoch seconds).
    started_at: float = 0.0
    ended_at: float | None = None

    def to_expected(self) -> dict[str, Any]:
        """The expected.json form (same keys, same order)."""
        data = asdict(self)
        data.pop("started_at")
        data.pop("ended_at")
        return data


@dataclass(slots=True)
class Counters:
    """What the simulator generated: the figures a tracker / KPI engine must reproduce.

    Counted per call, as the hotline-wide KPIs count (acd.kpi.calls): a call is offered once
    if any leg reached a queue, answered if any agent answered it (a transferred leg was
    answered), otherwise it takes the outcome of its last queue leg. ``legs`` and
    ``transferred`` count queue legs.
    """

    calls: int = 0
    offered: int = 0  # reached a queue (joinempty included)
    answered: int = 0
    abandoned: int = 0
    timeout: int = 0
    joinempty: int = 0
    ivr_hangup: int = 0
    legs: int = 0
    transferred: int = 0
    ring_no_answer: int = 0
    events: int = 0

    def count_call(self, legs: list[CallTruth]) -> None:
        self.legs += len(legs)
        self.transferred += sum(1 for t in legs if t.outcome == "transferred")
        self.ring_no_answer += sum(len(t.ring_no_answer) for t in legs)
        in_queue = [t for t in legs if t.queue is not None]
        if any(t.outcome in ("answered", "transferred") for t in legs):
            outcome = "answered"
        elif in_queue:
            outcome = in_queue[-1].outcome or "abandoned"
        else:
            outcome = "ivr_hangup"
        if outcome != "ivr_hangup":
            self.offered += 1
        if outcome in ("answered", "abandoned", "timeout", "joinempty", "ivr_hangup"):
            setattr(self, outcome, getattr(self, outcome) + 1)
