"""Working days as the State Council sets them: weekdays, minus public holidays, plus the
official make-up working days (调休上班) on weekends — from the ``chinese-calendar`` package.

That package knows the years whose arrangement has been published (it is updated each
December). For a year it does not know, Monday–Friday are working days: a clear warning is
logged once per year and ``health()`` reports the years, so an operator knows to upgrade
it; the hotline keeps routing calls meanwhile.

One object, passed to whoever needs it (the IVR, the case workflow, /healthz): the years
without data are its state, not a module's.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import chinese_calendar

log = logging.getLogger(__name__)

_CACHE_SIZE = 4096


class WorkingCalendar:
    """Is a date a working day, and working-day arithmetic for deadlines."""

    def __init__(self) -> None:
        self._unknown_years: set[int] = set()
        self._cache: dict[dt.date, bool] = {}

    # ---- single days -----------------------------------------------------------------------

    def is_working_day(self, day: dt.date) -> bool:
        known = self._cache.get(day)
        if known is None:
            known = self._lookup(day)
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[day] = known
        return known

    def holiday_name(self, day: dt.date) -> str | None:
        """The public holiday ``day`` belongs to (e.g. ``"National Day"``), else None."""
        if not self._has_data(day):
            return None
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        return str(name) if on_holiday and name else None

    def is_makeup_working_day(self, day: dt.date) -> bool:
        """A Saturday or Sunday worked in exchange for a longer holiday (调休上班)."""
        return day.weekday() >= 5 and self.is_working_day(day)

    # ---- deadlines -------------------------------------------------------------------------

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date ``days`` working days after ``start`` (``start`` itself not counted).

        With ``days == 0``: ``start`` if it is a working day, else the next working day.
        """
        if days < 0:
            raise ValueError("days must be ≥ 0")
        day = start
        if days == 0:
            while not self.is_working_day(day):
                day += dt.timedelta(days=1)
            return day
        left = days
        while left:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in ``(start, end]``: how many of a deadline's days have passed."""
        if end <= start:
            return 0
        count = 0
        day = start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_working_day(day)
        return count

    # ---- health ----------------------------------------------------------------------------

    @property
    def years_without_data(self) -> frozenset[int]:
        """Years asked about for which the holiday data was missing (Mon–Fri was used)."""
        return frozenset(self._unknown_years)

    def health(self) -> dict[str, Any] | None:
        """A /healthz component once a year beyond the data was asked about, else None.

        A warning (``"ok": True``), not a failure: calls are still routed, and a 503 would
        make monitors take a working hotline out.
        """
        if not self._unknown_years:
            return None
        unknown = sorted(self._unknown_years)
        years = ", ".join(str(year) for year in unknown)
        return {
            "ok": True,
            "warning": f"no holiday data for {years}; Monday–Friday used as working days"
            " (upgrade chinese-calendar)",
            "years_without_data": unknown,
        }

    # ---- the data --------------------------------------------------------------------------

    def _lookup(self, day: dt.date) -> bool:
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            self._warn_unknown_year(day.year)
            return day.weekday() < 5

    def _has_data(self, day: dt.date) -> bool:
        try:
            chinese_calendar.is_workday(day)
        except NotImplementedError:
            self._warn_unknown_year(day.year)
            return False
        return True

    def _warn_unknown_year(self, year: int) -> None:
        if year not in self._unknown_years:
            self._unknown_years.add(year)
            log.warning(
                "chinese-calendar has no holiday data for %d: Monday–Friday are used as working"
                " days (upgrade chinese-calendar)",
                year,
            )
