"""Live queue-member state for the wallboard, fed by app_queue's member events.

Keyed by (queue, interface): the same agent can sit in several queues, and queue_log's
PENALTY lines name the interface rather than the member name, so the interface is the key.
"""

from __future__ import annotations

from typing import Any

# app_queue's AST_DEVICE_* numbers as they appear in Status fields.
DEVICE_STATUS: dict[str, str] = {
    "0": "unknown",
    "1": "not_inuse",
    "2": "inuse",
    "3": "busy",
    "4": "invalid",
    "5": "unavailable",
    "6": "ringing",
    "7": "ringinuse",
    "8": "onhold",
}

# Which AMI event changed the member, as the `change` key of an agent.state payload.
MEMBER_EVENTS: dict[str, str] = {
    "QueueMemberStatus": "status",
    "QueueMemberPause": "pause",
    "QueueMemberAdded": "added",
    "QueueMemberRemoved": "removed",
    "QueueMemberPenalty": "penalty",
    "QueueMemberRinginuse": "ringinuse",
    # The list item of a QueueStatus answer (Name/Location instead of MemberName/Interface).
    "QueueMember": "snapshot",
}


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def member_state(headers: dict[str, str], change: str) -> dict[str, Any]:
    """One member's state as a plain JSON-able dict (the agent.state payload)."""
    status = headers.get("Status", "")
    return {
        "change": change,
        "queue": headers.get("Queue"),
        "member": headers.get("MemberName") or headers.get("Name"),
        "interface": headers.get("Interface") or headers.get("Location"),
        "state_interface": headers.get("StateInterface"),
        "membership": headers.get("Membership"),
        "status": _int(status),
        "status_text": DEVICE_STATUS.get(status, "unknown"),
        "paused": headers.get("Paused") == "1",
        "reason": headers.get("PausedReason") or None,
        "penalty": _int(headers.get("Penalty")),
        "in_call": headers.get("InCall") == "1",
        "calls_taken": _int(headers.get("CallsTaken")),
        "last_call": _int(headers.get("LastCall")),
    }


class MemberBoard:
    """Current members per queue; `apply` returns the new state (None if the event is not one)."""

    __slots__ = ("_members",)

    def __init__(self) -> None:
        self._members: dict[tuple[str, str], dict[str, Any]] = {}

    def apply(self, event: str, headers: dict[str, str]) -> dict[str, Any] | None:
        change = MEMBER_EVENTS.get(event)
        if change is None:
            return None
        state = member_state(headers, change)
        key = (state["queue"] or "", state["interface"] or "")
        if change == "removed":
            self._members.pop(key, None)
        else:
            self._members[key] = state
        return state

    def replace_all(self, states: list[dict[str, Any]]) -> None:
        """Take a QueueStatus snapshot as the whole truth (members may have left meanwhile)."""
        self._members = {(s["queue"] or "", s["interface"] or ""): s for s in states}

    def interface_of(self, queue: str | None, member: str | None) -> str | None:
        for (q, interface), state in self._members.items():
            if state["member"] == member and (queue is None or q == queue):
                return interface
        return None

    def all(self) -> list[dict[str, Any]]:
        return [dict(state) for _, state in sorted(self._members.items())]
