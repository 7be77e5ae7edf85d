"""Recognises an AMI event the tracker has just seen: a proxy that repeats frames, or a
reconnect that replays some, must not make a phantom leg (a second QueueCallerJoin reads as
a transfer, a second QueueCallerAbandon as another abandon…).

Only events with a ``Timestamp`` (manager.conf ``timestampevents = yes``, which the rendered
configuration sets) are compared: Asterisk stamps each event in microseconds when it is
raised, so two events equal in every header, stamp included, are one event sent twice.
Without a stamp two equal events may be two real ones, and both are applied.

This sits on the hot path of every handled event, so the window is keyed by the stamp alone
(one short string to hash) and the headers are compared only among the few events that share
a microsecond; hashing every header of every event cost about half the tracker's time. An
event read off the wire is remembered as its frame's text (one string), not as its parsed
headers: 4,096 lists of ~20 header tuples held ~12 MiB and doubled the ingest's memory growth.
Texts that differ are still compared header by header, so "equal" means equal headers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from acd.ami.framing import FramedMessage

# How many recent events are remembered: far more than a proxy or a replay lags behind.
WINDOW = 4096

Fields = Sequence[tuple[str, str]]
# An event as remembered: the frame's text as received, or its headers (a message built here).
Event = str | Fields


class _Group(list[Event]):
    """Several events of one microsecond (a plain list of headers could be one event)."""

    __slots__ = ()


def _headers(event: Event) -> list[tuple[str, str]]:
    return FramedMessage(event).fields if isinstance(event, str) else list(event)


def _same(a: Event, b: Event) -> bool:
    """Equal in every header (the texts of two frames may differ in spacing only)."""
    return a == b or _headers(a) == _headers(b)


class RecentEvents:
    __slots__ = ("_by_stamp", "_order", "_size")

    def __init__(self, size: int = WINDOW) -> None:
        self._size = size
        self._order: deque[str] = deque()
        # stamp -> the one event with that stamp, or a list of them when a microsecond holds
        # several (rare: no list is built on the hot path).
        self._by_stamp: dict[str, Event | _Group] = {}

    def first_time(self, stamp: str, event: Event) -> bool:
        """True the first time an event comes; False for a copy within the window.

        ``event``: the frame's text if it came off the wire unchanged, else its headers.
        """
        by_stamp = self._by_stamp
        seen = by_stamp.get(stamp)
        if seen is None:
            by_stamp[stamp] = event
        elif isinstance(seen, _Group):
            if any(_same(other, event) for other in seen):
                return False
            seen.append(event)
        elif _same(seen, event):
            return False
        else:
            by_stamp[stamp] = _Group((seen, event))
        order = self._order
        order.append(stamp)
        if len(order) > self._size:
            # The oldest event leaves the window (inline: this runs for every handled event).
            oldest = order.popleft()
            gone = by_stamp[oldest]
            if type(gone) is _Group and len(gone) > 1:
                del gone[0]
            else:
                del by_stamp[oldest]
        return True
