"""The shared working-day calendar: holidays, make-up days, deadlines, years without data."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from working_days import WorkingCalendar

NATIONAL_DAY = dt.date(2026, 10, 1)  # a Thursday, public holiday
# National Day 2026: 1–7 October off; Sunday 20 September and Saturday 10 October worked.
MAKEUP_SUNDAY = dt.date(2026, 9, 20)
MAKEUP_SATURDAY = dt.date(2026, 10, 10)
BEYOND_DATA = 2099


def test_holidays_weekends_and_make_up_days() -> None:
    calendar = WorkingCalendar()
    assert calendar.is_working_day(dt.date(2026, 11, 25))  # a Wednesday
    assert not calendar.is_working_day(dt.date(2026, 11, 28))  # a Saturday
    assert not calendar.is_working_day(NATIONAL_DAY)
    assert calendar.holiday_name(NATIONAL_DAY) == "National Day"
    assert calendar.holiday_name(dt.date(2026, 11, 25)) is None
    assert calendar.is_makeup_working_day(MAKEUP_SATURDAY)
    assert calendar.is_working_day(MAKEUP_SUNDAY)
    assert not calendar.is_makeup_working_day(dt.date(2026, 11, 25))
    assert calendar.health() is None  # every date asked about had data


def test_deadlines_count_working_days_only() -> None:
    calendar = WorkingCalendar()
    # Filed on the eve of the Golden Week: its days and the weekend do not count.
    eve = dt.date(2026, 9, 30)
    assert calendar.add_working_days(eve, 1) == dt.date(2026, 10, 8)
    assert calendar.add_working_days(eve, 3) == MAKEUP_SATURDAY
    assert calendar.working_days_between(eve, MAKEUP_SATURDAY) == 3
    assert calendar.working_days_between(MAKEUP_SATURDAY, eve) == 0
    # Zero days: today if it is a working day, else the next one.
    assert calendar.add_working_days(NATIONAL_DAY, 0) == dt.date(2026, 10, 8)
    assert calendar.add_working_days(eve, 0) == eve
    with pytest.raises(ValueError, match="days"):
        calendar.add_working_days(eve, -1)


def test_a_year_without_data_falls_back_to_weekdays_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calendar = WorkingCalendar()
    with caplog.at_level(logging.WARNING, logger="working_days.calendar"):
        assert calendar.is_working_day(dt.date(BEYOND_DATA, 6, 1))  # a Monday
        assert not calendar.is_working_day(dt.date(BEYOND_DATA, 6, 6))  # a Saturday
        assert calendar.holiday_name(dt.date(BEYOND_DATA, 10, 1)) is None
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert f"no holiday data for {BEYOND_DATA}" in warnings[0]
    assert "upgrade chinese-calendar" in warnings[0]
    health = calendar.health()
    assert health is not None and health["ok"] is True
    assert health["years_without_data"] == [BEYOND_DATA]
    # The state is the object's: another calendar has seen no such year.
    assert WorkingCalendar().health() is None
