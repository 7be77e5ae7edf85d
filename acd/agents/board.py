"""`AgentBoard`: the live agent state machine of one PBX, driven by its AMI feed.

``handle(msg)`` takes every AMI event in wire order (it looks at the few it needs: see
``acd.agents.events.HANDLERS``); ``resync(status)`` takes a QueueStatus answer after every
(re)connect. Each change of an agent is published as ``agent.status``
(``events.payloads.AgentStatus``): its state, pause reason, since when, its queues and the
call it rings or talks on. ``view(interface)`` / ``views()`` read the same picture.

Pure and synchronous like the call tracker: no I/O, the events' Timestamp is its clock.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from typing import Any

from acd.agents.events import HANDLERS, Touched, resync
from acd.agents.state import DEFAULT_WRAP_UP_REASON, Agent, AgentsState, derive
from acd.ami.message import AmiMessage
from events.topics import AGENT_STATUS

log = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any]], None]
OnCallEvent = Callable[[AmiMessage], None]


# Every AMI event the board looks at; the feed hands it nothing else (it sees every event of
# the PBX, ~1 % of which matter here).
WANTED: frozenset[str] = frozenset(HANDLERS) | {"OriginateResponse", "DialEnd"}
# Events of the calls the desk places (call-backs): handed to ``on_call_event`` as they are.
_CALL_EVENTS = frozenset({"OriginateResponse", "DialEnd"})


class AgentBoard:
    wanted = WANTED

    def __init__(
        self,
        publish: Publish | None = None,
        *,
        pbx: str = "pbx1",
        wrap_up_reason: str = DEFAULT_WRAP_UP_REASON,
        on_call_event: OnCallEvent | None = None,
    ) -> None:
        self.pbx = pbx
        self._state = AgentsState(wrap_up_reason=wrap_up_reason)
        self._publish = publish
        # OriginateResponse and DialEnd go to whoever placed a call (acd.agents.actions).
        self.on_call_event = on_call_event
        self._published: dict[str, dict[str, Any]] = {}

    @property
    def clock(self) -> float:
        return self._state.clock

    @property
    def wrap_up_reason(self) -> str:
        return self._state.wrap_up_reason

    # ---- input -------------------------------------------------------------------------------

    def handle(self, msg: AmiMessage) -> None:
        # On the AMI hot path (every event of the PBX): one look at the event's name and out.
        if msg.kind != "event":
            return
        name = msg.name
        handler = HANDLERS.get(name)
        if handler is None:
            if name in _CALL_EVENTS and self.on_call_event is not None:
                self.on_call_event(msg)
            return
        state = self._state
        if name == "Hangup":
            # Only a caller an agent rings or talks to matters: look for its Uniqueid alone.
            by_caller = state.by_caller
            if not by_caller or not any(
                key == "Uniqueid" and value in by_caller for key, value in msg.fields
            ):
                return
        headers = dict(msg.fields)
        stamp = headers.get("Timestamp")
        if stamp:
            try:
                value = float(stamp)
            except ValueError:
                value = math.nan
            if math.isfinite(value) and value > state.clock:
                state.clock = value
        try:
            touched = handler(state, headers)
        except Exception:
            log.exception("agent board failed on %s; event skipped", name)
            return
        if touched:
            self._settle(touched)

    def resync(self, status: Iterable[AmiMessage], *, now: float | None = None) -> None:
        """Apply a QueueStatus answer (response, list events, Complete) as the whole truth."""
        if now is not None and now > self._state.clock:
            self._state.clock = now
        items = [dict(m.fields) for m in status if m.kind == "event"]
        self._settle(resync(self._state, items), resync=True)

    # ---- output ------------------------------------------------------------------------------

    def _settle(self, touched: Touched, *, resync: bool = False) -> None:
        state = self._state
        for interface, change in touched:
            agent = state.agents.get(interface)
            if agent is None:
                continue
            previous = agent.state
            new_state, reason = derive(agent, state.wrap_up_reason)
            if (new_state, reason) != (agent.state, agent.reason):
                agent.state, agent.reason = new_state, reason
                agent.since = (_since_from_pbx(agent) or state.clock) if resync else state.clock
            view = self._view(agent)
            last = self._published.get(interface)
            if last == view and change not in ("completed", "called", "connected"):
                continue
            self._published[interface] = view
            if self._publish is not None:
                try:
                    self._publish(
                        AGENT_STATUS,
                        {**view, "previous": previous, "change": change, "at": state.clock},
                    )
                except Exception:
                    log.exception("publishing %s failed", AGENT_STATUS)

    def _view(self, agent: Agent) -> dict[str, Any]:
        call = next(
            (r for r in agent.rings.values() if r.answered),
            next(iter(agent.rings.values()), None),
        )
        return {
            "pbx": self.pbx,
            "interface": agent.interface,
            "name": agent.name,
            "state": agent.state,
            "reason": agent.reason,
            "since": agent.since,
            "queues": [
                {
                    "queue": m.queue,
                    "paused": m.paused,
                    "reason": m.reason,
                    "penalty": m.penalty,
                    "dynamic": m.dynamic,
                }
                for _, m in sorted(agent.memberships.items())
            ],
            "call": None
            if call is None
            else {
                "uniqueid": call.uniqueid,
                "linkedid": call.linkedid,
                "queue": call.queue,
                "caller_num": call.caller_num,
                "caller_name": call.caller_name,
                "answered": call.answered,
                "since": call.since,
            },
        }

    def view(self, interface: str) -> dict[str, Any]:
        """One agent's picture (``logged_out`` when the PBX never named it)."""
        agent = self._state.agents.get(interface) or Agent(interface, interface)
        return self._view(agent)

    def views(self) -> list[dict[str, Any]]:
        return [self._view(a) for _, a in sorted(self._state.agents.items())]

    def last_completed(self, interface: str) -> str | None:
        agent = self._state.agents.get(interface)
        return agent.last_completed if agent else None


def _since_from_pbx(agent: Agent) -> float:
    """After a resync, "since when" from app_queue's own member clocks where they tell."""
    memberships = agent.memberships.values()
    if agent.state in ("paused", "wrap_up"):
        return float(max((m.last_pause or 0 for m in memberships), default=0))
    if agent.state == "ready":
        return float(
            max(
                (max(m.last_call or 0, m.last_pause or 0, m.login_time or 0) for m in memberships),
                default=0,
            )
        )
    return 0.0
