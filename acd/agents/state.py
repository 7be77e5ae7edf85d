"""What the agent state machine remembers, and the one pure rule that turns it into a state.

An agent is a queue-member interface (``PJSIP/1001``, ``Local/agent1@agent-robot/n``): app_queue
names members by interface in every event, queue_log's PENALTY lines too, and one phone is
one agent whatever queues it sits in. Its live state is derived, never stored by hand:

- ``logged_out``: a member of no queue;
- ``ringing`` / ``talking``: app_queue offered it a call (AgentCalled) / it answered
  (AgentConnect), until AgentComplete, AgentRingNoAnswer or the caller going away; a busy or
  ringing phone outside the queues (a call-back call) counts too, from the member Status;
- ``wrap_up``: paused in every queue with the after-call-work reason (话后处理);
- ``paused``: paused in every queue with another reason (or none);
- ``ready``: otherwise (a member of at least one queue where it is not paused).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

AGENT_STATES: Final = ("logged_out", "ready", "ringing", "talking", "wrap_up", "paused")
DEFAULT_WRAP_UP_REASON: Final = "话后处理"

# app_queue's member Status (AST_DEVICE_*): the phone is busy or ringing for its own reasons.
BUSY_DEVICE: Final = frozenset({2, 3, 7, 8})  # inuse, busy, ringinuse, onhold
RINGING_DEVICE: Final = 6


@dataclass(slots=True)
class Membership:
    """The agent in one queue, as the latest member event or QueueStatus item said."""

    queue: str
    member: str
    dynamic: bool
    penalty: int | None
    paused: bool
    reason: str | None
    device: int | None
    state_interface: str | None = None
    calls_taken: int | None = None
    last_call: int | None = None
    last_pause: int | None = None
    login_time: int | None = None


@dataclass(slots=True)
class Ring:
    """A call app_queue offered this agent (AgentCalled), answered or not yet."""

    uniqueid: str
    linkedid: str
    queue: str
    caller_num: str | None
    caller_name: str | None
    since: float
    answered: bool = False


@dataclass(slots=True)
class Agent:
    interface: str
    name: str
    memberships: dict[str, Membership] = field(default_factory=dict)
    rings: dict[str, Ring] = field(default_factory=dict)
    state: str = "logged_out"
    reason: str | None = None
    since: float = 0.0
    # The caller uniqueid of the last call this agent completed, and when (for wrap-up).
    last_completed: str | None = None


@dataclass(slots=True)
class AgentsState:
    """Every agent the PBX told of, by interface; the clock is the latest event Timestamp."""

    wrap_up_reason: str = DEFAULT_WRAP_UP_REASON
    agents: dict[str, Agent] = field(default_factory=dict)
    # Caller uniqueid → interfaces it rings or talks to (a caller leaving clears them).
    by_caller: dict[str, set[str]] = field(default_factory=dict)
    clock: float = 0.0

    def agent(self, interface: str, name: str | None = None) -> Agent:
        agent = self.agents.get(interface)
        if agent is None:
            agent = self.agents[interface] = Agent(interface, name or interface)
        elif name:
            agent.name = name
        return agent


def derive(agent: Agent, wrap_up_reason: str) -> tuple[str, str | None]:
    """The agent's state and pause reason from what is known of it (pure)."""
    if not agent.memberships:
        return "logged_out", None
    if any(ring.answered for ring in agent.rings.values()):
        return "talking", None
    if agent.rings:
        return "ringing", None
    devices = {m.device for m in agent.memberships.values()}
    if devices & BUSY_DEVICE:
        return "talking", None
    if RINGING_DEVICE in devices:
        return "ringing", None
    memberships = list(agent.memberships.values())
    if all(m.paused for m in memberships):
        reason = next((m.reason for m in memberships if m.reason), None)
        return ("wrap_up" if reason == wrap_up_reason else "paused"), reason
    return "ready", None
