"""Recognises an AMI event the tracker has just seen: a proxy that repeats frames, or a
reconnect that replays some, must not make a phantom leg (a second QueueCallerJoin reads as
a transfer, a second QueueCallerAbandon as another abandon…).

Only events with a ``Timestamp`` (manager.conf ``timestampevents = yes``, which the rendered
configuration sets) are compared: Asterisk stamps each event in microseconds when it is
raised, so two events equal in every header, stamp included, are one event sent twice.
Without a stamp two equal events may be two real ones, and both are applied.

This sits on the hot path of every handled event, so the window is keyed by the stamp alone
(one short string to hash) and the headers are compared only among the few events that share
a microsecond; hashing every header of every event cost about half the tracker's time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

# How many recent events are remembered: far more than a proxy or a replay lags behind.
WINDOW = 4096

Fields = Sequence[tuple[str, str]]


class _Group(list[Fields]):
    """Several events of one microsecond (a plain list of headers could be one event)."""

    __slots__ = ()


class RecentEvents:
    __slots__ = ("_by_stamp", "_order", "_size")

    def __init__(self, size: int = WINDOW) -> None:
        self._size = size
        self._order: deque[str] = deque()
        # stamp -> the headers of the one event with that stamp, or a list of them when a
        # microsecond holds several (rare: no list is built on the hot path).
        self._by_stamp: dict[str, Fields | _Group] = {}

    def first_time(self, stamp: str, fields: Fields) -> bool:
        """True the first time these exact headers come; False for a copy within the window."""
        by_stamp = self._by_stamp
        seen = by_stamp.get(stamp)
        if seen is None:
            by_stamp[stamp] = fields
        elif isinstance(seen, _Group):
            if fields in seen:
                return False
            seen.append(fields)
        elif seen == fields:
            return False
        else:
            by_stamp[stamp] = _Group((seen, fields))
        order = self._order
        order.append(stamp)
        if len(order) > self._size:
            self._forget(order.popleft())
        return True

    def _forget(self, stamp: str) -> None:
        seen = self._by_stamp[stamp]
        if isinstance(seen, _Group) and len(seen) > 1:
            del seen[0]
        else:
            del self._by_stamp[stamp]
