"""Service hours on the Chinese calendar (real 2026 holidays and make-up working days)."""

from __future__ import annotations

import datetime as dt

import pytest

from ivr.hours import ServiceHours, parse_span
from tests.ivr.agi_emulator import call
from tests.ivr.conftest import SHANGHAI, Ivr
from working_days import WorkingCalendar

# From chinese-calendar's 2026 data (State Council notice):
NATIONAL_DAY = dt.date(2026, 10, 1)  # Thursday, public holiday
MAKEUP_SATURDAY = dt.date(2026, 10, 10)  # Saturday, official make-up working day (调休上班)
SPRING_MAKEUP = dt.date(2026, 2, 14)  # Saturday, make-up working day before Spring Festival
LABOUR_DAY_MONDAY = dt.date(2026, 5, 4)  # Monday inside the Labour Day holiday
PLAIN_SUNDAY = dt.date(2026, 11, 29)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (NATIONAL_DAY, False),
        (MAKEUP_SATURDAY, True),
        (SPRING_MAKEUP, True),
        (LABOUR_DAY_MONDAY, False),
        (PLAIN_SUNDAY, False),
        (dt.date(2026, 11, 25), True),
    ],
)
def test_working_days(day: dt.date, working: bool) -> None:
    assert WorkingCalendar().is_working_day(day) is working


def test_year_outside_the_calendar_falls_back_to_weekdays() -> None:
    calendar = WorkingCalendar()
    assert calendar.is_working_day(dt.date(2099, 6, 1)) is True  # a Monday
    assert calendar.is_working_day(dt.date(2099, 6, 6)) is False  # a Saturday


def test_spans() -> None:
    assert parse_span("08:30-17:30") == (510, 1050)
    assert parse_span("00:00-24:00") == (0, 1440)
    for bad in ("8-17", "17:00-08:00", "08:60-09:00", "25:00-26:00"):
        with pytest.raises(ValueError):
            parse_span(bad)
    office = ServiceHours(workday=((510, 720), (810, 1050)), restday=())
    calendar = WorkingCalendar()
    assert office.is_open(at(MAKEUP_SATURDAY, 8, 30), calendar)
    assert not office.is_open(at(MAKEUP_SATURDAY, 12, 30), calendar)  # lunch
    assert not office.is_open(at(NATIONAL_DAY, 10), calendar)
    assert not office.is_open(at(dt.date(2026, 11, 25), 17, 30), calendar)  # end is exclusive


@pytest.mark.parametrize(
    ("when", "queue"),
    [
        (at(NATIONAL_DAY, 10), "hotline-general"),  # holiday: night destination
        (at(MAKEUP_SATURDAY, 10), "hotline-complaint"),  # make-up working day: open
        (at(PLAIN_SUNDAY, 10), "hotline-general"),
        (at(dt.date(2026, 11, 25), 20), "hotline-general"),  # working day, evening
        (at(dt.date(2026, 11, 25), 9), "hotline-complaint"),
    ],
)
async def test_complaint_queue_outside_hours_goes_to_its_night_queue(
    ivr: Ivr, when: dt.datetime, queue: str
) -> None:
    ivr.clock.now = when.astimezone(dt.UTC)  # the service clock is UTC; hours are local
    log = await call(ivr.port, ["3"])
    assert log.variables["HOTLINE_QUEUE"] == queue
    assert log.variables["HOTLINE_CHOICE"] == "3"  # the caller's choice is kept


async def test_report_queue_on_a_holiday_takes_a_callback_request(ivr: Ivr) -> None:
    ivr.clock.now = at(LABOUR_DAY_MONDAY, 11)
    log = await call(ivr.port, ["4"], linkedid="1795445409.90")
    assert 'STREAM FILE hotline/callback-report ""' in log.commands
    assert log.variables["HOTLINE_CALLBACK"] == "1"
    assert log.variables["HOTLINE_QUEUE"] == "hotline-report"
    assert log.hung_up_by_app
    finished = ivr.events.of("ivr.finished")[-1]
    assert finished["callback_requested"] is True
    assert finished["ended"] == "hangup"
    assert finished["linkedid"] == "1795445409.90"


async def test_report_queue_on_a_make_up_day_is_open(ivr: Ivr) -> None:
    ivr.clock.now = at(SPRING_MAKEUP, 11)
    log = await call(ivr.port, ["4"])
    assert log.variables["HOTLINE_QUEUE"] == "hotline-report"
    assert "HOTLINE_CALLBACK" not in log.variables
