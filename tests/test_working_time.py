"""Deadlines in working time on the Chinese calendar: the real edges (National Day, Spring
Festival with its make-up weekend days, a Friday-evening urgent case, a year without data)
and properties of the arithmetic (hypothesis)."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from working_days import BusinessHours, WorkingCalendar, WorkingTime

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
def time() -> WorkingTime:
    return WorkingTime(WorkingCalendar(), BusinessHours(dt.time(9), dt.time(17)))


def test_the_day_before_national_day(time: WorkingTime) -> None:
    eve = local("2026-09-30 16:00")
    # 1–7 October off; the make-up Saturday 10 October counts.
    assert time.add_working_days(eve, 1) == local("2026-10-08 17:00")
    assert time.add_working_days(eve, 3) == local("2026-10-10 17:00")
    # 24 working hours of 8 a day: 1 h on the eve, 8 + 8 on the 8th and 9th, 7 on the 10th.
    assert time.add_working_hours(eve, 24) == local("2026-10-10 16:00")
    assert time.working_hours_between(eve, local("2026-10-10 16:00")) == 24


def test_spring_festival_and_its_make_up_weekend_days(time: WorkingTime) -> None:
    # 2026: Saturday 14 and Saturday 28 February worked; 15–23 February off.
    friday_evening = local("2026-02-13 18:00")
    assert time.add_working_days(friday_evening, 1) == local("2026-02-14 17:00")
    assert time.add_working_days(friday_evening, 2) == local("2026-02-24 17:00")
    assert time.add_working_days(local("2026-02-27 10:00"), 1) == local("2026-02-28 17:00")
    assert time.add_working_hours(local("2026-02-14 16:00"), 2) == local("2026-02-24 10:00")


def test_a_friday_evening_urgent_case(time: WorkingTime) -> None:
    friday = local("2026-11-27 19:30")  # after the close of business
    # Same day (direct handling) after the close is the next working day's close.
    assert time.add_working_days(friday, 0) == local("2026-11-30 17:00")
    assert time.add_working_days(friday, 1) == local("2026-11-30 17:00")
    assert time.add_working_hours(friday, 1) == local("2026-11-30 10:00")
    # A deadline ending exactly at the close stays there.
    assert time.add_working_hours(local("2026-11-30 09:00"), 8) == local("2026-11-30 17:00")


def test_a_year_without_data_warns_and_counts_weekdays(
    time: WorkingTime, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="working_days"):
        due = time.add_working_days(local("2099-01-02 10:00"), 1)  # a Friday
    assert due == local("2099-01-05 17:00")  # Monday: weekends only
    assert time.calendar.years_without_data == {2099}
    assert "no holiday data for 2099" in caplog.text


def test_times_are_timezone_aware_and_hours_sensible() -> None:
    with pytest.raises(ValueError, match="open before they close"):
        BusinessHours(dt.time(17), dt.time(9))
    time = WorkingTime(WorkingCalendar())
    with pytest.raises(ValueError, match="timezone-aware"):
        time.add_working_days(dt.datetime(2026, 1, 5, 10), 1)
    # Given in UTC, computed in local time: 02:00 UTC is 10:00 in Shanghai.
    utc = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
    assert time.add_working_hours(utc, 1) == local("2026-11-30 11:00")


# ---- properties -----------------------------------------------------------------------------

starts = st.datetimes(
    min_value=dt.datetime(2024, 1, 1),
    max_value=dt.datetime(2027, 6, 30),
    timezones=st.just(SHANGHAI),
)
CALENDAR = WorkingCalendar()  # shared: its day cache makes the examples fast
TIME = WorkingTime(CALENDAR, BusinessHours(dt.time(8, 30), dt.time(17, 30)))


@settings(max_examples=300, deadline=None)
@given(starts, starts, st.integers(0, 30), st.integers(0, 30))
def test_working_days_are_monotone_and_never_a_holiday(
    a: dt.datetime, b: dt.datetime, m: int, n: int
) -> None:
    a, b = min(a, b), max(a, b)
    m, n = min(m, n), max(m, n)
    assert TIME.add_working_days(a, n) <= TIME.add_working_days(b, n)
    assert TIME.add_working_days(a, m) <= TIME.add_working_days(a, n)
    due = TIME.add_working_days(a, n)
    assert CALENDAR.is_working_day(due.date())
    if n:
        assert CALENDAR.working_days_between(a.date(), due.date()) == n


@settings(max_examples=300, deadline=None)
@given(starts, starts, st.floats(0, 200), st.floats(0, 200))
def test_working_hours_are_monotone_round_trip_and_never_a_holiday(
    a: dt.datetime, b: dt.datetime, g: float, h: float
) -> None:
    a, b = min(a, b), max(a, b)
    g, h = min(g, h), max(g, h)
    assert TIME.add_working_hours(a, h) <= TIME.add_working_hours(b, h)
    assert TIME.add_working_hours(a, g) <= TIME.add_working_hours(a, h)
    due = TIME.add_working_hours(a, h)
    assert CALENDAR.is_working_day(due.date())
    assert dt.time(8, 30) <= due.timetz().replace(tzinfo=None) <= dt.time(17, 30)
    assert TIME.working_hours_between(a, due) == pytest.approx(h, abs=1e-6)
