"""Service hours per queue on the Chinese working-day calendar.

A working day is what the State Council says it is: weekdays, minus public holidays, plus the
official make-up working days (调休上班) on weekends — taken from the ``chinese-calendar``
package. Outside the years that package knows, weekdays are working days: logged once, and
the years asked about are kept (``years_without_data``) for the service's health report.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from functools import lru_cache

import chinese_calendar

log = logging.getLogger(__name__)

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


@lru_cache(maxsize=1024)
def is_working_day(day: dt.date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        _warn_unknown_year(day.year)
        return day.weekday() < 5


_unknown_years: set[int] = set()


def years_without_data() -> frozenset[int]:
    """Years asked about for which the holiday calendar had no data (Mon–Fri was used)."""
    return frozenset(_unknown_years)


def _warn_unknown_year(year: int) -> None:
    if year not in _unknown_years:
        _unknown_years.add(year)
        log.warning("chinese-calendar has no data for %d; using Monday–Friday", year)


@dataclass(frozen=True, slots=True)
class ServiceHours:
    """Opening spans on working days and on rest days (weekends and public holidays)."""

    workday: tuple[Span, ...]
    restday: tuple[Span, ...]

    @classmethod
    def always(cls) -> ServiceHours:
        return cls(workday=((0, 1440),), restday=((0, 1440),))

    def is_open(self, when: dt.datetime) -> bool:
        """``when`` is local time at the hotline (naive or aware: its wall clock is used)."""
        spans = self.workday if is_working_day(when.date()) else self.restday
        minute = when.hour * 60 + when.minute
        return any(start <= minute < end for start, end in spans)
