"""The holiday calendar's end of data shows in /healthz as a warning, not an outage."""

from __future__ import annotations

import datetime as dt

from acd.kpi import LiveKpi
from hotline.bus import Bus
from hotline.ivr_wiring import IvrSide
from hotline.settings import Settings
from hotline.web.app import health_report
from ivr.hours import ServiceHours
from working_days import WorkingCalendar


def test_a_date_beyond_the_calendar_is_a_health_warning() -> None:
    # The calendar the IVR routes by is the one /healthz reads: an object, not module state.
    calendar = WorkingCalendar()
    side = IvrSide(Settings(), bus=Bus(), kpi=LiveKpi(), calendar=calendar)
    office = ServiceHours(workday=((510, 1050),), restday=())

    assert office.is_open(dt.datetime(2026, 11, 25, 10, 0), calendar)
    assert "calendar" not in side.health()  # only once a date beyond the data is asked

    # 2027-01-04 is a Monday: the Mon–Fri fallback keeps the office open.
    assert office.is_open(dt.datetime(2027, 1, 4, 10, 0), calendar)
    assert not office.is_open(dt.datetime(2027, 1, 9, 10, 0), calendar)  # a Saturday
    component = side.health()["calendar"]
    assert component["years_without_data"] == [2027]
    assert "no holiday data for 2027" in component["warning"]
    healthy, body = health_report(side.health)
    assert healthy and body["components"]["calendar"]["ok"] is True
