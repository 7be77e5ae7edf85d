"""The holiday calendar's end of data shows in /healthz as a warning, not an outage."""

from __future__ import annotations

import datetime as dt

import pytest

from acd.kpi import LiveKpi
from hotline.bus import Bus
from hotline.ivr_wiring import IvrSide
from hotline.settings import Settings
from hotline.web.app import health_report
from ivr.hours import ServiceHours, is_working_day


def test_a_date_beyond_the_calendar_is_a_health_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ivr.hours._unknown_years", set())
    is_working_day.cache_clear()
    side = IvrSide(Settings(), bus=Bus(), kpi=LiveKpi())
    office = ServiceHours(workday=((510, 1050),), restday=())

    assert office.is_open(dt.datetime(2026, 11, 25, 10, 0))
    assert "calendar" not in side.health()  # only once a date beyond the data is asked

    # 2027-01-04 is a Monday: the Mon–Fri fallback keeps the office open.
    assert office.is_open(dt.datetime(2027, 1, 4, 10, 0))
    assert not office.is_open(dt.datetime(2027, 1, 9, 10, 0))  # a Saturday
    calendar = side.health()["calendar"]
    assert calendar["years_without_data"] == [2027]
    assert "no holiday data for 2027" in calendar["warning"]
    healthy, body = health_report(side.health)
    assert healthy and body["components"]["calendar"]["ok"] is True
    is_working_day.cache_clear()
