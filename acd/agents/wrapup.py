"""Timed after-call work (话后处理): when an agent's call ends, pause it with the wrap-up
reason; when the wrap-up time runs out, make it ready again (the agent may end it earlier).

Why a pause with a reason rather than app_queue's ``wrapuptime``: wrapuptime is invisible —
no AMI event starts or ends it, queue_log has no line for it, the member looks available
(Status 1, Paused 0) to QueueStatus and the wallboard, and nothing can end it early or
stretch it. A ``QueuePause`` with Reason 话后处理 is in queue_log (PAUSEALL/PAUSE with the
reason), in the member events every desk and wallboard sees, in the agent's figures, and a
``QueuePause Paused=false`` ends it at any moment. The one thing wrapuptime does better is
closing the gap between AgentComplete and our pause (a few milliseconds in which app_queue
could offer the next call): a small queue ``wrapuptime`` (pbx.queues, 2-3 s) covers that gap
and is not what agents see.

Driven by ``agent.status`` payloads (``on_status``): ``change == "completed"`` starts one;
a resync that finds an agent already in wrap-up (the service restarted) gives it the rest
of its time from its LastPause.

The timers run on the one clock passed in (``now``, epoch seconds): the wall clock in
production, the demo's simulated clock in the demo — there a 30 s wrap-up lasts 30
simulated seconds, not 30 wall seconds (half an hour of the demo's busy hour). A clock may
run faster than the wall, so one ticker task checks the deadlines at least every
``tick_s`` wall seconds while any wrap-up runs (none runs, no task).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from acd.agents.actions import AgentActionFailed, Member, MemberActions

log = logging.getLogger(__name__)

MemberOf = Callable[[str, str], Member | None]  # (pbx, interface) → the desk's agent or None


class WrapUps:
    def __init__(
        self,
        actions: Mapping[str, MemberActions],
        member_of: MemberOf,
        *,
        seconds: float,
        reason: str,
        now: Callable[[], float],
        tick_s: float = 0.1,
    ) -> None:
        self._actions = actions
        self._member_of = member_of
        self.seconds = seconds
        self.reason = reason
        # The one clock (epoch seconds) of the wrap-ups: when they end, and the age of one
        # found at resync (its ``since`` is on the PBX's clock, which this one follows).
        self._now = now
        self._tick_s = tick_s
        # (pbx, interface) → (when it ends on that clock, the member)
        self._timers: dict[tuple[str, str], tuple[float, Member]] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.failures = 0
        self.closed = False  # the service is stopping: no new wrap-up

    def ends_at(self, pbx: str, interface: str) -> float | None:
        """When the running wrap-up ends (on the clock passed in), None if none runs."""
        timer = self._timers.get((pbx, interface))
        return timer[0] if timer is not None else None

    def remaining(self, pbx: str, interface: str) -> float | None:
        ends = self.ends_at(pbx, interface)
        if ends is None:
            return None
        return max(0.0, ends - self._now())

    async def on_status(self, topic: str, payload: dict[str, Any]) -> None:
        pbx, interface = payload["pbx"], payload["interface"]
        member = self._member_of(pbx, interface)
        if member is None or self.seconds <= 0 or self.closed:
            return
        key = (pbx, interface)
        if payload["change"] == "completed":
            # Logged out, or paused for another reason during the call (用餐…): leave it be.
            if payload["state"] in ("logged_out", "paused"):
                return
            try:
                await self._actions[pbx].pause(member, self.reason)
            except AgentActionFailed as error:
                self.failures += 1
                log.warning("wrap-up of %s not started: %s", interface, error)
                return
            self._schedule(key, member, self.seconds)
        elif payload["state"] == "wrap_up" and key not in self._timers:
            # Found in wrap-up (a restart, or paused so by hand): the rest of its time.
            left = self.seconds - max(0.0, self._now() - float(payload["since"]))
            self._schedule(key, member, max(0.0, left))
        elif payload["previous"] == "wrap_up" and payload["state"] != "wrap_up":
            # Ended early (the agent clicked ready), or paused for another reason.
            self.cancel(pbx, interface)

    def _schedule(self, key: tuple[str, str], member: Member, seconds: float) -> None:
        self._timers[key] = (self._now() + seconds, member)
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        """End the wrap-ups that are due, until none runs. Wall seconds per clock second are
        unknown (the demo's clock is faster): sleep the time left, at most ``tick_s``."""
        while self._timers:
            now = self._now()
            for key, (ends, member) in list(self._timers.items()):
                if ends <= now:
                    del self._timers[key]
                    self._expire(key, member)
            if self._timers:
                left = min(ends for ends, _ in self._timers.values()) - now
                await asyncio.sleep(min(self._tick_s, max(left, 0.0)))

    def _expire(self, key: tuple[str, str], member: Member) -> None:
        task = asyncio.get_running_loop().create_task(self._end(key, member))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _end(self, key: tuple[str, str], member: Member) -> None:
        try:
            await self._actions[key[0]].unpause(member)
        except AgentActionFailed as error:
            self.failures += 1
            log.warning("wrap-up of %s did not end: %s", member.interface, error)

    def cancel(self, pbx: str, interface: str) -> None:
        self._timers.pop((pbx, interface), None)  # the ticker stops once none is left

    def close(self) -> None:
        self.closed = True
        self._timers.clear()
        if self._ticker is not None:
            self._ticker.cancel()
        for task in self._tasks:
            task.cancel()
