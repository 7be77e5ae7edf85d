"""Service hours per queue: opening spans on working days and on rest days.

Which days are working days is the shared calendar's business (``working_days``: public
holidays, make-up working days, a warned Monday–Friday fallback for years without data).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from working_days import WorkingCalendar

_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")

Span = tuple[int, int]  # minutes since midnight, start inclusive, end exclusive


def parse_span(text: str) -> Span:
    """``"08:30-17:30"`` → (510, 1050); ``24:00`` is allowed as an end. Raise ValueError."""
    match = _SPAN.match(text.strip())
    if match is None:
        raise ValueError(f"not a time span HH:MM-HH:MM: {text!r}")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or end <= start:
        raise ValueError(f"not a valid time span: {text!r}")
    return start, end


@dataclass(frozen=True, slots=True)
class ServiceHours:
    """Opening spans on working days and on rest days (weekends and public holidays)."""

    workday: tuple[Span, ...]
    restday: tuple[Span, ...]

    @classmethod
    def always(cls) -> ServiceHours:
        return cls(workday=((0, 1440),), restday=((0, 1440),))

    def is_open(self, when: dt.datetime, calendar: WorkingCalendar) -> bool:
        """``when`` is local time at the hotline (naive or aware: its wall clock is used)."""
        spans = self.workday if calendar.is_working_day(when.date()) else self.restday
        minute = when.hour * 60 + when.minute
        return any(start <= minute < end for start, end in spans)
