"""Recognises an AMI event the tracker has just seen: a proxy that repeats frames, or a
reconnect that replays some, must not make a phantom leg (a second QueueCallerJoin reads as
a transfer, a second QueueCallerAbandon as another abandon…).

Only events with a ``Timestamp`` (manager.conf ``timestampevents = yes``, which the rendered
configuration sets) are compared: Asterisk stamps each event in microseconds when it is
raised, so two events equal in every header, stamp included, are one event sent twice.
Without a stamp two equal events may be two real ones, and both are applied.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

# How many recent events are remembered: far more than a proxy or a replay lags behind.
WINDOW = 4096


class RecentEvents:
    __slots__ = ("_order", "_seen", "_size")

    def __init__(self, size: int = WINDOW) -> None:
        self._size = size
        self._order: deque[tuple[tuple[str, str], ...]] = deque()
        self._seen: set[tuple[tuple[str, str], ...]] = set()

    def first_time(self, fields: Sequence[tuple[str, str]]) -> bool:
        """True the first time these exact headers come; False for a copy within the window."""
        key = tuple(fields)
        seen = self._seen
        if key in seen:
            return False
        seen.add(key)
        order = self._order
        order.append(key)
        if len(order) > self._size:
            seen.discard(order.popleft())
        return True
