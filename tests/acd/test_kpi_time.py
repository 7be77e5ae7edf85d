"""Hours and days in the KPI timezone, and the supervisor's exclusion windows."""

from __future__ import annotations

from datetime import UTC, datetime

from acd.kpi import KpiParams, compute
from tests.acd.kpi_builders import MORNING, local, record


def around_midnight() -> list[dict[str, object]]:
    return [
        record("answered", 5, 60, at=local(2026, 11, 23, 23, 10)),  # 15:10 UTC
        record("abandoned", 30, at=local(2026, 11, 23, 23, 50)),  # 15:50 UTC
        record("answered", 20, 40, at=local(2026, 11, 24, 0, 5)),  # 16:05 UTC, next local day
    ]


def test_hours_and_days_split_at_local_midnight() -> None:
    report = compute(around_midnight())
    assert list(report.by_hour) == ["2026-11-23T23:00+08:00", "2026-11-24T00:00+08:00"]
    assert report.by_hour["2026-11-23T23:00+08:00"]["offered"].value == 2
    assert report.by_hour["2026-11-23T23:00+08:00"]["abandoned"].value == 1
    assert report.by_hour["2026-11-24T00:00+08:00"]["offered"].value == 1
    assert report.by_hour["2026-11-24T00:00+08:00"]["answered_within"].value == 0
    assert list(report.by_day) == ["2026-11-23", "2026-11-24"]
    assert report.by_day["2026-11-23"]["connect_rate"].value == 0.5
    assert report.by_day["2026-11-24"]["connect_rate"].value == 1.0


def test_the_timezone_is_a_parameter() -> None:
    report = compute(around_midnight(), KpiParams(timezone="UTC"))
    assert list(report.by_day) == ["2026-11-23"]
    assert list(report.by_hour) == ["2026-11-23T15:00+00:00", "2026-11-23T16:00+00:00"]
    assert report.by_hour["2026-11-23T15:00+00:00"]["offered"].value == 2


def test_a_call_transferred_after_midnight_stays_on_the_day_it_arrived() -> None:
    uid = "1795460000.9"
    records = [
        record("transferred", 2, 5, uniqueid=uid, leg=0, at=local(2026, 11, 23, 23, 59, 50)),
        record("answered", 3, 9, uniqueid=uid, leg=1, at=local(2026, 11, 24, 0, 0, 20)),
    ]
    report = compute(records)
    assert list(report.by_day) == ["2026-11-23"]
    assert list(report.by_hour) == ["2026-11-23T23:00+08:00"]


def test_undated_calls_count_in_totals_only() -> None:
    records = [record("ivr_hangup", at=None), record("answered", 4, 30)]
    report = compute(records)
    assert report.undated_calls == 1
    assert report.totals["ivr_hangups"].value == 1
    assert report.by_day["2026-11-23"]["ivr_hangups"].value == 0


def test_exclusion_windows_are_half_open_and_reported() -> None:
    records = [
        record("abandoned", 40, at=MORNING),  # 10:00
        record("abandoned", 50, at=MORNING + 30 * 60),  # 10:30, in the window
        record("answered", 4, 30, at=MORNING + 60 * 60),  # 11:00, the window's end: counted
    ]
    window = (MORNING + 15 * 60, MORNING + 60 * 60, "system fault 系统故障")
    report = compute(records, exclusions=[window])
    assert report.totals["offered"].value == 2
    assert report.totals["longest_wait"].value == 40
    assert report.calls == 2
    assert report.excluded.to_json() == {
        "calls": 1,
        "legs": 1,
        "by_reason": {"system fault 系统故障": 1},
    }


def test_exclusion_windows_as_datetimes_aware_or_naive_utc() -> None:
    records = [record("abandoned", 40, at=MORNING), record("answered", 4, 30, at=MORNING + 600)]
    # MORNING is 10:00 in Shanghai = 02:00 UTC; the window covers the first call only.
    aware = (
        datetime(2026, 11, 23, 1, 59, tzinfo=UTC),
        datetime(2026, 11, 23, 2, 5, tzinfo=UTC),
        "traffic beyond seat capacity",
    )
    naive = (datetime(2026, 11, 23, 1, 59), datetime(2026, 11, 23, 2, 5), "same, naive UTC")
    for window in (aware, naive):
        report = compute(records, exclusions=[window])
        assert report.excluded.calls == 1
        assert report.totals["connect_rate"].value == 1.0


def test_an_excluded_call_takes_all_its_legs_with_it() -> None:
    uid = "1795440400.1"
    records = [
        record("transferred", 2, 5, uniqueid=uid, leg=0, at=MORNING),
        record("answered", 3, 9, uniqueid=uid, leg=1, at=MORNING + 600),
    ]
    report = compute(records, exclusions=[(MORNING - 1, MORNING + 1, "incident")])
    assert (report.excluded.calls, report.excluded.legs) == (1, 2)
    assert report.by_queue == {} and report.totals["offered"].value == 0
