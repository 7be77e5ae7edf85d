"""The burst rule, pure: calls of one (area, branch or category) in a sliding window, against
what the same hour brought on recent weeks.

A key trips when, within ``window_s`` seconds, it has at least ``min_calls`` calls *and* at
least ``ratio`` times what its baseline expects in such a window. The baseline is the mean
number of calls per hour of that key in the same local hour of the same weekday on the
recent weeks (only weeks with any call in that hour count: a hotline that was not running
yet is not a quiet week). ``min_calls`` keeps a key with no history (baseline 0) from
tripping on two calls; ``ratio`` keeps a busy area's normal Monday from tripping at all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from warning.areas import AreaMap
from warning.signals import observe

# (area key, kind, value)
Key = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Thresholds:
    window_s: float = 900.0
    min_calls: int = 10
    ratio: float = 3.0

    def __post_init__(self) -> None:
        if self.window_s <= 0:
            raise ValueError("window_s must be > 0")
        if self.min_calls < 2:
            raise ValueError("min_calls must be ≥ 2")
        if self.ratio < 1:
            raise ValueError("ratio must be ≥ 1")

    def needed(self, per_hour: float) -> float:
        """Calls in one window that make a burst, for a baseline of ``per_hour``."""
        return max(float(self.min_calls), self.ratio * per_hour * self.window_s / 3600.0)


def hourly_baseline(
    weeks: Sequence[Sequence[Mapping[str, Any]]], areas: AreaMap
) -> dict[Key, float]:
    """Mean calls per key over the weeks' hour (each a list of call records of that hour)."""
    totals: dict[Key, int] = {}
    with_calls = 0
    for records in weeks:
        seen: set[tuple[Key, str]] = set()
        for record in records:
            found = observe(record, areas)
            if found is None:
                continue
            for kind, value in found.signals:
                seen.add(((found.area.key, kind, value), found.call_id))
        if records:
            with_calls += 1
        for key, _ in seen:
            totals[key] = totals.get(key, 0) + 1
    if not with_calls:
        return {}
    return {key: count / with_calls for key, count in totals.items()}


class BurstDetector:
    """Sliding windows per key, each call counted once per key (events of one call repeat)."""

    # Every this many additions, keys whose window has emptied are dropped.
    SWEEP_EVERY = 2000

    def __init__(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self._windows: dict[Key, deque[tuple[float, str]]] = {}
        self._ids: dict[Key, set[str]] = {}
        self._latest = 0.0
        self._added = 0

    def add(self, key: Key, call_id: str, at: float) -> int:
        """Count the call under ``key`` (once); return the key's calls in the window now."""
        window = self._windows.setdefault(key, deque())
        ids = self._ids.setdefault(key, set())
        self._latest = max(self._latest, at)
        if call_id not in ids and at > self._latest - self.thresholds.window_s:
            ids.add(call_id)
            # Kept in order of time: an event a little late goes to its place.
            if window and at < window[-1][0]:
                items = sorted([*window, (at, call_id)])
                window.clear()
                window.extend(items)
            else:
                window.append((at, call_id))
        self._prune(key, window, ids)
        self._added += 1
        if self._added % self.SWEEP_EVERY == 0:
            self.sweep()
        return len(window)

    def count(self, key: Key) -> int:
        window = self._windows.get(key)
        return len(window) if window is not None else 0

    def span(self, key: Key) -> tuple[float, float] | None:
        """When the window's first and last calls of ``key`` started (None: no call)."""
        window = self._windows.get(key)
        return (window[0][0], window[-1][0]) if window else None

    def calls(self, key: Key) -> list[str]:
        return [call_id for _, call_id in self._windows.get(key, ())]

    def sweep(self) -> None:
        for key in list(self._windows):
            window, ids = self._windows[key], self._ids[key]
            self._prune(key, window, ids)
            if not window:
                del self._windows[key], self._ids[key]

    def _prune(self, key: Key, window: deque[tuple[float, str]], ids: set[str]) -> None:
        oldest = self._latest - self.thresholds.window_s
        while window and window[0][0] <= oldest:
            _, gone = window.popleft()
            ids.discard(gone)
