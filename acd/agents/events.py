"""The agent state machine's event table: AMI event name → the plain function that applies
it, ``(state, headers) -> [(interface, change), …]`` (the agents it touched and why), and the
QueueStatus resync. Every event not named in ``HANDLERS`` is ignored.

``change`` names what happened, for the desk and the wrap-up timer: ``added``, ``removed``,
``pause``, ``status``, ``penalty``, ``called``, ``connected``, ``completed`` (a call ended:
after-call work starts), ``ring_no_answer``, ``ring_ended`` (the caller went elsewhere), ``resync``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from acd.agents.state import BUSY_DEVICE, RINGING_DEVICE, Agent, AgentsState, Membership, Ring

Touched = list[tuple[str, str]]
Handler = Callable[[AgentsState, dict[str, str]], Touched]


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _caller(value: str | None) -> str | None:
    return None if value in (None, "", "<unknown>") else value


def membership_of(h: dict[str, str]) -> Membership:
    """A member event's fields, or a QueueStatus ``QueueMember`` item's (Name/Location)."""
    return Membership(
        queue=h.get("Queue", ""),
        member=h.get("MemberName") or h.get("Name") or "",
        dynamic=h.get("Membership") == "dynamic",
        penalty=_int(h.get("Penalty")),
        paused=h.get("Paused") == "1",
        # An unpause may still carry a PausedReason ("back"): a reason counts while paused.
        reason=(h.get("PausedReason") or None) if h.get("Paused") == "1" else None,
        device=_int(h.get("Status")),
        state_interface=h.get("StateInterface") or None,
        calls_taken=_int(h.get("CallsTaken")),
        last_call=_int(h.get("LastCall")),
        last_pause=_int(h.get("LastPause")),
        login_time=_int(h.get("LoginTime")),
    )


def _interface(h: dict[str, str]) -> str:
    return h.get("Interface") or h.get("Location") or ""


def _device_class(device: int | None) -> int:
    return 2 if device in BUSY_DEVICE else 1 if device == RINGING_DEVICE else 0


def _same_picture(old: Membership, new: Membership) -> bool:
    """Whether the agent's state and published view stay as they were: what ``derive`` and
    the view read of a membership is unchanged (the device only by its busy/ringing class)."""
    return (
        old.paused == new.paused
        and old.reason == new.reason
        and old.penalty == new.penalty
        and old.dynamic == new.dynamic
        and old.member == new.member
        and _device_class(old.device) == _device_class(new.device)
    )


def _member_changed(change: str) -> Handler:
    def handle(state: AgentsState, h: dict[str, str]) -> Touched:
        interface = _interface(h)
        queue = h.get("Queue")
        if not interface or not queue:
            return []
        membership = membership_of(h)
        known = state.agents.get(interface)
        name = known.name if known is not None else None
        agent = state.agent(interface, membership.member)
        old = agent.memberships.get(queue)
        agent.memberships[queue] = membership
        # Most member events only repeat the phone's device state (one per queue it is in,
        # at every call): nothing to derive or publish. The board would find the same state
        # and view and publish nothing; not touching the agent saves it the work.
        if old is not None and agent.name == name and _same_picture(old, membership):
            return []
        return [(interface, change)]

    handle.__name__ = f"on_member_{change}"
    return handle


on_member_added = _member_changed("added")
on_member_pause = _member_changed("pause")
on_member_status = _member_changed("status")
on_member_penalty = _member_changed("penalty")
on_member_ringinuse = _member_changed("ringinuse")


def on_member_removed(state: AgentsState, h: dict[str, str]) -> Touched:
    interface = _interface(h)
    agent = state.agents.get(interface)
    if agent is None:
        return []
    agent.memberships.pop(h.get("Queue", ""), None)
    return [(interface, "removed")]


def _forget_ring(state: AgentsState, agent: Agent, uniqueid: str) -> None:
    agent.rings.pop(uniqueid, None)
    ringing = state.by_caller.get(uniqueid)
    if ringing is not None:
        ringing.discard(agent.interface)
        if not ringing:
            del state.by_caller[uniqueid]


def on_agent_called(state: AgentsState, h: dict[str, str]) -> Touched:
    interface = _interface(h)
    uniqueid = h.get("Uniqueid", "")
    if not interface or not uniqueid:
        return []
    agent = state.agent(interface, h.get("MemberName"))
    agent.rings[uniqueid] = Ring(
        uniqueid=uniqueid,
        linkedid=h.get("Linkedid") or uniqueid,
        queue=h.get("Queue", ""),
        caller_num=_caller(h.get("CallerIDNum")),
        caller_name=_caller(h.get("CallerIDName")),
        since=state.clock,
    )
    state.by_caller.setdefault(uniqueid, set()).add(interface)
    return [(interface, "called")]


def on_agent_connect(state: AgentsState, h: dict[str, str]) -> Touched:
    interface = _interface(h)
    uniqueid = h.get("Uniqueid", "")
    if not interface or not uniqueid:
        return []
    touched: Touched = []
    # ringall and friends: the members this caller also rang stop ringing (no AMI event says so).
    for other in sorted(state.by_caller.get(uniqueid, set()) - {interface}):
        agent = state.agents.get(other)
        if agent is not None and uniqueid in agent.rings and not agent.rings[uniqueid].answered:
            _forget_ring(state, agent, uniqueid)
            touched.append((other, "ring_ended"))
    agent = state.agent(interface, h.get("MemberName"))
    ring = agent.rings.get(uniqueid)
    if ring is None:  # AgentCalled came while we were not listening
        on_agent_called(state, h)
        ring = agent.rings[uniqueid]
    ring.answered = True
    ring.since = state.clock
    return [*touched, (interface, "connected")]


def on_agent_complete(state: AgentsState, h: dict[str, str]) -> Touched:
    # AgentComplete may have no channel fields at all (AMI Redirect): Uniqueid + Interface.
    interface = _interface(h)
    uniqueid = h.get("Uniqueid", "")
    agent = state.agents.get(interface)
    if agent is None:
        return []
    _forget_ring(state, agent, uniqueid)
    agent.last_completed = uniqueid
    return [(interface, "completed")]


def on_ring_no_answer(state: AgentsState, h: dict[str, str]) -> Touched:
    interface = _interface(h)
    agent = state.agents.get(interface)
    uniqueid = h.get("Uniqueid", "")
    if agent is None or uniqueid not in agent.rings:
        return []
    _forget_ring(state, agent, uniqueid)
    return [(interface, "ring_no_answer")]


def on_caller_gone(state: AgentsState, h: dict[str, str]) -> Touched:
    """The caller abandoned or hung up: the phones it rang stop ringing (RINGCANCELED has no
    AMI event), and a talk whose AgentComplete never comes (outage) ends too."""
    uniqueid = h.get("Uniqueid", "")
    interfaces = state.by_caller.get(uniqueid)
    if not interfaces:
        return []
    touched: Touched = []
    for interface in sorted(interfaces):
        agent = state.agents.get(interface)
        if agent is None:
            continue
        ring = agent.rings.get(uniqueid)
        answered = ring is not None and ring.answered
        _forget_ring(state, agent, uniqueid)
        touched.append((interface, "completed" if answered else "ring_ended"))
        if answered:
            agent.last_completed = uniqueid
    state.by_caller.pop(uniqueid, None)
    return touched


HANDLERS: dict[str, Handler] = {
    "QueueMemberAdded": on_member_added,
    "QueueMemberRemoved": on_member_removed,
    "QueueMemberPause": on_member_pause,
    "QueueMemberStatus": on_member_status,
    "QueueMemberPenalty": on_member_penalty,
    "QueueMemberRinginuse": on_member_ringinuse,
    "AgentCalled": on_agent_called,
    "AgentConnect": on_agent_connect,
    "AgentComplete": on_agent_complete,
    "AgentRingNoAnswer": on_ring_no_answer,
    "QueueCallerAbandon": on_caller_gone,
    "Hangup": on_caller_gone,
}


def resync(state: AgentsState, items: Iterable[dict[str, str]]) -> Touched:
    """A QueueStatus answer is the whole truth about memberships: members that left while
    nobody listened are dropped, calls the PBX no longer lists (QueueEntry, member in use)
    are forgotten. Returns every agent it touched."""
    seen: dict[str, dict[str, Membership]] = {}
    names: dict[str, str] = {}
    waiting: set[str] = set()
    for h in items:
        event = h.get("Event")
        if event == "QueueMember":
            membership = membership_of(h)
            seen.setdefault(_interface(h), {})[membership.queue] = membership
            names[_interface(h)] = membership.member
        elif event == "QueueEntry":
            waiting.add(h.get("Uniqueid", ""))
    touched: Touched = []
    for interface in sorted(set(seen) | set(state.agents)):
        agent = state.agent(interface, names.get(interface))
        agent.memberships = seen.get(interface, {})
        in_use = any(m.device in (2, 3, 6, 7, 8) for m in agent.memberships.values())
        for uniqueid, ring in list(agent.rings.items()):
            # A waiting caller still rings it; a talk goes on while the phone is in use.
            if not (uniqueid in waiting and not ring.answered) and not (ring.answered and in_use):
                _forget_ring(state, agent, uniqueid)
        touched.append((interface, "resync"))
    return touched
