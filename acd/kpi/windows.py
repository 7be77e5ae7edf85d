"""Time: local hour and day buckets, and the supervisor's exclusion windows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

Instant = datetime | float | int


def epoch(moment: Instant) -> float:
    """Epoch seconds; a naive datetime is UTC, as timestamps are stored in UTC."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    if isinstance(moment, bool) or not isinstance(moment, int | float):
        raise TypeError(f"not a moment in time: {moment!r}")
    return float(moment)


@dataclass(frozen=True, slots=True)
class ExclusionWindow:
    """Calls that arrived in [start, end) are left out of the call KPIs."""

    start: float
    end: float
    reason: str

    def covers(self, at: float) -> bool:
        return self.start <= at < self.end


def exclusion_windows(
    windows: Iterable[tuple[Instant, Instant, str]] | None,
) -> tuple[ExclusionWindow, ...]:
    result = []
    for start, end, reason in windows or ():
        first, last = epoch(start), epoch(end)
        if last < first:
            raise ValueError(f"exclusion window {reason!r} ends before it starts")
        result.append(ExclusionWindow(first, last, str(reason)))
    return tuple(result)


def excluded_by(windows: Iterable[ExclusionWindow], at: float | None) -> ExclusionWindow | None:
    if at is None:
        return None
    return next((window for window in windows if window.covers(at)), None)


def local(at: float, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(at, zone)


def hour_key(at: float, zone: ZoneInfo) -> str:
    """'2026-11-23T23:00+08:00': the local hour, with its UTC offset (DST-safe)."""
    start = local(at, zone).replace(minute=0, second=0, microsecond=0)
    return start.isoformat(timespec="minutes")


def day_key(at: float, zone: ZoneInfo) -> str:
    return local(at, zone).date().isoformat()
