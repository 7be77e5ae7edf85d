"""app_queue's member events (status, pause, added, removed, …) onto the wallboard's
`MemberBoard`; each change is published as ``agent.state``. Handlers:
``(state, headers, out) -> None``, one per event so the event table names them all."""

from __future__ import annotations

from acd.tracker.core import Outbox
from acd.tracker.state import TrackerState
from events.topics import AGENT_STATE


def _apply(state: TrackerState, out: Outbox, event: str, h: dict[str, str]) -> None:
    member = state.board.apply(event, h)
    if member is not None:
        out.send(AGENT_STATE, {**member, "at": state.clock})


def on_member_status(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    _apply(state, out, "QueueMemberStatus", h)


def on_member_pause(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    _apply(state, out, "QueueMemberPause", h)


def on_member_added(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    _apply(state, out, "QueueMemberAdded", h)


def on_member_removed(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    _apply(state, out, "QueueMemberRemoved", h)


def on_member_penalty(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    _apply(state, out, "QueueMemberPenalty", h)


def on_member_ringinuse(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    _apply(state, out, "QueueMemberRinginuse", h)


def on_member_listed(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    # The list item of a QueueStatus answer, should one arrive among the events.
    _apply(state, out, "QueueMember", h)
