"""Deadlines in working time: working days that end at the close of business, working hours
counted inside business hours, both on the Chinese calendar (``WorkingCalendar``).

Times go in and come out timezone-aware; the arithmetic happens in the site's local time
(business hours and holidays are local), so a deadline is the same instant whatever zone the
caller stores it in (the store keeps UTC).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from working_days.calendar import WorkingCalendar

# Enough to cross any holiday run (the longest is 9 days) many times over: a guard against
# an endless loop on a calendar with no working day, never reached on a real one.
_MAX_DAYS_SCANNED = 3660


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """One span of business hours on each working day, in the site's local time."""

    opens: dt.time = dt.time(9, 0)
    closes: dt.time = dt.time(17, 0)
    timezone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        if self.opens >= self.closes:
            raise ValueError(
                f"business hours must open before they close: {self.opens}–{self.closes}"
            )
        ZoneInfo(self.timezone)  # an unknown zone fails here, not at the first deadline

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def hours_per_day(self) -> float:
        return _hours(dt.datetime.combine(dt.date.min, self.closes)
                      - dt.datetime.combine(dt.date.min, self.opens))  # fmt: skip


def _hours(delta: dt.timedelta) -> float:
    return delta.total_seconds() / 3600


def _aware(value: dt.datetime, name: str) -> None:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")


class WorkingTime:
    """Working-day and working-hour deadlines: a calendar and the business hours."""

    def __init__(self, calendar: WorkingCalendar, hours: BusinessHours | None = None) -> None:
        self.calendar = calendar
        self.hours = hours or BusinessHours()

    def _at(self, day: dt.date, time: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, time, tzinfo=self.hours.zone)

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """The close of business ``days`` working days after ``start``'s day.

        ``days == 0`` is "same day": the close of ``start``'s day if it is a working day and
        business has not closed yet, else the close of the next working day.
        """
        _aware(start, "start")
        local = start.astimezone(self.hours.zone)
        day = local.date()
        if days == 0:
            if local.time() >= self.hours.closes:
                day += dt.timedelta(days=1)
            return self._at(self.calendar.add_working_days(day, 0), self.hours.closes)
        return self._at(self.calendar.add_working_days(day, days), self.hours.closes)

    def add_working_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        """``start`` plus ``hours`` of business time: nights, weekends and holidays do not
        count. A deadline that ends exactly at a close stays at that close."""
        _aware(start, "start")
        if hours < 0:
            raise ValueError("hours must be ≥ 0")
        current = self._next_business_instant(start.astimezone(self.hours.zone))
        left = dt.timedelta(hours=hours)
        for _ in range(_MAX_DAYS_SCANNED):
            close = self._at(current.date(), self.hours.closes)
            if current + left <= close:
                return current + left
            left -= close - current
            current = self._next_business_instant(close + dt.timedelta(microseconds=1))
        raise ValueError("no working day within ten years: check the calendar")

    def working_hours_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Business hours in [start, end] (0 when end is not after start)."""
        _aware(start, "start")
        _aware(end, "end")
        zone = self.hours.zone
        start, end = start.astimezone(zone), end.astimezone(zone)
        total = dt.timedelta()
        day = start.date()
        while day <= end.date():
            if self.calendar.is_working_day(day):
                opens = max(self._at(day, self.hours.opens), start)
                closes = min(self._at(day, self.hours.closes), end)
                if closes > opens:
                    total += closes - opens
            day += dt.timedelta(days=1)
        return _hours(total)

    def _next_business_instant(self, local: dt.datetime) -> dt.datetime:
        """``local`` if business is open then, else the next opening."""
        day = local.date()
        if self.calendar.is_working_day(day):
            if local.time() < self.hours.opens:
                return self._at(day, self.hours.opens)
            if local.time() < self.hours.closes:
                return local
        next_day = self.calendar.add_working_days(day, 1)
        return self._at(next_day, self.hours.opens)
