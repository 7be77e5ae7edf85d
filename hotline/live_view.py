"""The wallboard's live view, read from the call tracker's state and today's KPI counters.

Times on the wallboard are on the service's one clock, passed in: the PBX's own clock (the
latest event Timestamp the tracker saw) when serving, the simulated clock in the demo. So a
waiting caller's wait is the same figure app_queue will log, whatever the service host's clock,
and the web app measures "for" durations on the same clock (hotline/service.py gives it both).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from acd.agents.board import AgentBoard
from acd.calls import CallTracker
from acd.kpi import LiveKpi
from acd.kpi.figures import figures_json

# AMI device states (QueueMemberStatus Status) as the wallboard names them.
_MEMBER_STATE = {
    1: "idle",  # NOT_INUSE
    2: "talking",  # INUSE
    3: "talking",  # BUSY
    6: "ringing",  # RINGING
    7: "talking",  # RINGINUSE
    8: "talking",  # ONHOLD
}


def member_view(member: dict[str, Any]) -> dict[str, Any]:
    if member.get("paused"):
        state = "paused"
    else:
        state = _MEMBER_STATE.get(member.get("status") or 0, "unavailable")
    return {
        "agent": member.get("interface"),
        "name": member.get("member"),
        "state": state,
        "reason": member.get("reason"),
        "calls_taken": member.get("calls_taken"),
    }


class TrackerLiveView:
    """Implements hotline.web.wallboard.LiveView over the ACD's live state."""

    def __init__(
        self,
        tracker: CallTracker | Sequence[CallTracker],
        kpi: LiveKpi,
        queues: list[str] | None = None,
        *,
        clock: Callable[[], float] | None = None,
        boards: Sequence[AgentBoard] = (),
    ) -> None:
        # One tracker per PBX: a queue of the same name on several PBXs shows them together.
        self._trackers = [tracker] if isinstance(tracker, CallTracker) else list(tracker)
        # One agent board per PBX: each agent once, whatever queues it sits in.
        self._boards = list(boards)
        self._clock = clock or (lambda: max(t.clock for t in self._trackers))
        self._kpi = kpi
        self._queues = list(queues or [])

    def _members(self, queue: str | None = None) -> list[dict[str, Any]]:
        return [member for t in self._trackers for member in t.members(queue)]

    def _active_calls(self) -> list[dict[str, Any]]:
        return [call for t in self._trackers for call in t.active_calls()]

    def _queue_names(self) -> list[str]:
        names = dict.fromkeys(self._queues)
        for member in self._members():
            if member.get("queue"):
                names.setdefault(member["queue"])
        for call in self._active_calls():
            if call.get("queue"):
                names.setdefault(call["queue"])
        return list(names)

    def queues(self) -> list[dict[str, Any]]:
        now = self._clock()
        out = []
        for name in self._queue_names():
            waiting: list[dict[str, Any]] = [
                {
                    "caller": call.get("caller_num") or "",
                    "wait_s": max(0, round(now - (call.get("entered_at") or now))),
                    "priority": call.get("priority") or 0,
                    "position": call.get("position"),
                }
                for tracker in self._trackers
                for call in tracker.waiting(name)
            ]
            waiting.sort(key=lambda row: -int(row["wait_s"]))
            longest = max((int(row["wait_s"]) for row in waiting), default=0)
            out.append(
                {
                    "name": name,
                    "waiting": waiting,
                    "longest_wait_s": longest,
                    "members": [member_view(m) for m in self._members(name)],
                }
            )
        return out

    def calls(self) -> list[dict[str, Any]]:
        return [
            {
                "linkedid": call.get("linkedid"),
                "caller": call.get("caller_num") or "",
                "stage": call.get("stage"),
                "since": call.get("since"),
                "queue": call.get("queue"),
                "agent": call.get("member"),
            }
            for call in self._active_calls()
        ]

    def kpis(self) -> dict[str, dict[str, Any]]:
        return self._kpi.totals_json()

    def agents(self) -> list[dict[str, Any]]:
        """Every agent signed in to a queue, once, as its PBX's agent board sees it."""
        out = []
        for board in self._boards:
            for view in board.views():
                if view["state"] == "logged_out":
                    continue
                call = view.get("call") or None
                out.append(
                    {
                        "pbx": view["pbx"],
                        "interface": view["interface"],
                        "name": view["name"],
                        "state": view["state"],
                        "reason": view["reason"],
                        "since": view["since"] or None,
                        "queues": [m["queue"] for m in view["queues"]],
                        "linkedid": call.get("linkedid") if call else None,
                    }
                )
        return out

    def day_figures(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Today's figures per queue and per local hour (one KPI snapshot for both)."""
        report = self._kpi.snapshot()
        return {
            "by_queue": {q: figures_json(f) for q, f in report.by_queue.items()},
            "by_hour": {h: figures_json(f) for h, f in report.by_hour.items()},
        }
