"""The tracker's live state as the wallboard and the service read it: calls in flight,
callers waiting in a queue, queue members."""

from __future__ import annotations

from typing import Any

from acd.tracker.core import ids
from acd.tracker.state import TrackerState


def active_calls(state: TrackerState) -> list[dict[str, Any]]:
    """Calls in flight (stage ivr/queued/ringing/talking/routing), oldest first."""
    out = []
    for call in sorted(state.calls.values(), key=lambda c: c.started_at):
        leg = call.leg
        out.append(
            {
                **ids(call),
                "stage": call.stage,
                "since": call.since,
                "started_at": call.started_at,
                "queue": leg.queue if leg else None,
                "leg": leg.leg if leg else None,
                "position": call.position if leg and leg.answered_by is None else None,
                "priority": call.priority,
                "member": leg.answered_by if leg else None,
                "interface": leg.member_interface if leg else None,
                # The agent's channel in the call (AgentConnect DestChannel): what ChanSpy spies.
                "agent_channel": leg.agent_channel if leg else None,
            }
        )
    return out


def waiting(state: TrackerState, queue: str) -> list[dict[str, Any]]:
    """Callers waiting in `queue` (queued or ringing), by queue position."""
    rows = [
        call
        for call in state.calls.values()
        if call.leg is not None
        and call.leg.queue == queue
        and call.leg.answered_by is None
        and call.abandon_at is None
    ]
    rows.sort(key=lambda c: (c.position or 0, c.since))
    return [
        {
            **ids(call),
            "queue": queue,
            "position": call.position,
            "priority": call.priority,
            "entered_at": call.leg.queue_entered_at if call.leg else None,
            "stage": call.stage,
        }
        for call in rows
    ]


def members(state: TrackerState, queue: str | None = None) -> list[dict[str, Any]]:
    return [m for m in state.board.all() if queue is None or m["queue"] == queue]
