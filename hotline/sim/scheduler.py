"""A discrete-event scheduler over simulated time (epoch seconds).

The simulator never reads the wall clock: everything happens at ``scheduler.now``. Real-time
runs (the demo) just advance ``run_until`` in step with a scaled wall clock, so a run is the
same sequence of events whatever the speed.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(order=True, slots=True)
class Timer:
    when: float
    seq: int
    fn: Callable[..., Any] = field(compare=False)
    args: tuple[Any, ...] = field(compare=False, default=())
    cancelled: bool = field(compare=False, default=False)

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    def __init__(self, start: float) -> None:
        self.now = start
        self._heap: list[Timer] = []
        self._seq = 0

    def at(self, when: float, fn: Callable[..., Any], *args: Any) -> Timer:
        # Never schedule into the past: a late timer fires "now", after what is already queued.
        self._seq += 1
        timer = Timer(max(when, self.now), self._seq, fn, args)
        heapq.heappush(self._heap, timer)
        return timer

    def after(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        return self.at(self.now + delay, fn, *args)

    def next_time(self) -> float | None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].when if self._heap else None

    def step(self) -> bool:
        """Run the earliest pending timer; False when nothing is pending."""
        while self._heap:
            timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            self.now = max(self.now, timer.when)
            timer.fn(*timer.args)
            return True
        return False

    def run_until(self, until: float) -> None:
        while True:
            nxt = self.next_time()
            if nxt is None or nxt > until:
                break
            self.step()
        self.now = max(self.now, until)

    def pending(self) -> int:
        return sum(1 for t in self._heap if not t.cancelled)
