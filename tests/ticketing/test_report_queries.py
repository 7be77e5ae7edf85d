"""The report queries (ticketing/reports.py) on SQLite and a real PostgreSQL: hand-counted
calls, the same counts acd.kpi.compute makes of the same stored records, exclusion windows
left out, the calls behind a figure, case counts per category and area."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from acd.kpi import KpiParams, compute
from hotline.reports import periods
from hotline.reports.build import CASE_FIGURES, PARTS, build_report, case_section, cases_behind
from tests.ticketing.conftest import at, make_record
from tests.web.report_helpers import DAY as SEEDED_DAY
from tests.web.report_helpers import SHANGHAI, seed
from ticketing import reports
from ticketing.reports import ReportFilter
from ticketing.store import TicketStore
from ticketing.tickets import tickets

# 2026-11-23 02:00 UTC = 10:00 in Shanghai.
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC).timestamp()
DAY = (datetime(2026, 11, 22, 16, 0, tzinfo=UTC), datetime(2026, 11, 23, 16, 0, tzinfo=UTC))


def _call(offset: float, outcome: str, wait: int | None, **more: Any) -> dict[str, Any]:
    answered = outcome in ("answered", "transferred")
    fields: dict[str, Any] = {
        "queue_entered_at": T0 + offset,
        "outcome": outcome,
        "wait_s": wait,
        "talk_s": 60 if answered else None,
        "answered_by": "Agent 1" if answered else None,
        "caller_num": f"1380013{int(offset):04d}",
    }
    if outcome == "ivr_hangup":
        fields.update(queue=None, wait_s=None, vars={})
    return make_record(**{**fields, **more})


async def _known_day(store: TicketStore) -> list[dict[str, Any]]:
    """Ten calls, hand-counted in the tests below."""
    transfer = _call(600, "transferred", 4)
    second_leg = {**transfer, "leg": 1, "key": None, "queue": "hotline-complaints",
                  "outcome": "answered", "wait_s": 25, "answered_by": "Agent 2",
                  "queue_entered_at": T0 + 700}  # fmt: skip
    second_leg.pop("key")
    records = [
        _call(0, "answered", 3),  # 10:00 within 15 s
        _call(60, "answered", 15),  # exactly 15 s: timely
        _call(120, "answered", 16),  # late
        _call(180, "abandoned", 4),  # short abandon (≤ 5 s)
        _call(240, "abandoned", 40),
        _call(300, "timeout", 60),
        _call(360, "joinempty", 0),
        _call(420, "ivr_hangup", None),
        transfer,  # 10:10, answered after 4 s, moved on: counts once, answered within
        second_leg,
        _call(3600, "answered", 2, queue="hotline-complaints"),  # 11:00
        _call(7200, "answered", 30),  # 12:00: in the exclusion window below
    ]
    await store.save_calls(records)
    await store.record_survey(records[0]["linkedid"], "satisfied", at(T0 + 100))
    await store.record_survey(records[1]["linkedid"], "dissatisfied", at(T0 + 200))
    await store.add_exclusion(at(T0 + 7000), at(T0 + 7500), "系统故障", "boss")
    return records


async def test_call_hours_are_the_counts_acd_kpi_makes(store: TicketStore) -> None:
    records = await _known_day(store)
    async with store.engine.connect() as connection:
        hours = await reports.call_hours(connection, *DAY)
        excluded = await reports.excluded_calls(connection, *DAY)
    by_hour = {row["hour"].astimezone(UTC).hour: row for row in hours}
    assert sorted(by_hour) == [2, 3]  # 10:00 and 11:00 in Shanghai; 12:00 is excluded
    ten = by_hour[2]
    # Hand-counted: 9 calls (the transfer once); 8 reached a queue; 4 answered.
    assert (ten["calls"], ten["offered"], ten["answered"]) == (9, 8, 4)
    assert (ten["answered_within"], ten["abandoned"], ten["short_abandons"]) == (3, 2, 1)
    assert (ten["timeouts"], ten["join_rejections"], ten["ivr_hangups"]) == (1, 1, 1)
    assert (ten["transfers"], ten["handlings"], ten["talk_s"]) == (1, 5, 300)
    assert ten["answered_wait_s"] == 3 + 15 + 16 + 4  # the transfer's wait is its first
    assert ten["longest_wait"] == 60
    assert (ten["satisfied"], ten["dissatisfied"], ten["basically_satisfied"]) == (1, 1, 0)
    assert excluded == {"系统故障": 1}
    assert len(records) == 12

    # The same stored records through acd.kpi.compute: the same figures.
    stored = await store.calls_between(*DAY)
    windows = await store.exclusions_between(*DAY)
    batch = compute(stored, exclusions=windows)
    totals = {name: figure.numerator for name, figure in batch.totals.items()}
    summed = {k: sum(row[k] for row in hours) for k in ("offered", "answered", "abandoned")}
    assert summed == {k: totals[k] for k in summed}
    assert batch.excluded.calls == 1
    assert batch.totals["answered_within"].value == sum(r["answered_within"] for r in hours)


async def test_queue_and_agent_legs(store: TicketStore) -> None:
    await _known_day(store)
    async with store.engine.connect() as connection:
        queues = {r["key"]: r for r in await reports.queue_legs(connection, *DAY)}
        agents = {r["key"]: r for r in await reports.agent_legs(connection, *DAY)}
        complaints = await reports.call_hours(
            connection, *DAY, ReportFilter(queue="hotline-complaints")
        )
    assert (queues["hotline-general"]["offered"], queues["hotline-general"]["answered"]) == (8, 4)
    assert (queues["hotline-complaints"]["offered"], queues["hotline-complaints"]["answered"]) == (
        2,
        2,
    )
    assert (agents["Agent 1"]["answered"], agents["Agent 2"]["answered"]) == (5, 1)
    assert agents["Agent 1"]["satisfied"] == 1
    assert sum(r["calls"] for r in complaints) == 2
    async with store.engine.connect() as connection:
        second = await reports.call_hours(connection, *DAY, ReportFilter(agent="Agent 2"))
        first = await reports.call_keys(connection, *DAY, "answered", ReportFilter(agent="Agent 1"))
    assert [(r["calls"], r["answered"]) for r in second] == [(1, 1)]  # the transfer's 2nd leg
    assert len(first) == 5  # Agent 1 answered four calls and the transfer's first leg


async def test_call_keys_list_the_calls_behind_a_figure(store: TicketStore) -> None:
    records = await _known_day(store)
    async with store.engine.connect() as connection:
        late = await reports.call_keys(connection, *DAY, "answered_late")
        abandoned = await reports.call_keys(connection, *DAY, "abandoned")
        excluded = await reports.call_keys(connection, *DAY, "excluded")
        within = await reports.call_keys(connection, *DAY, "answered_within")
    assert [c["uniqueid"] for c in late] == [records[2]["uniqueid"]]
    assert late[0]["wait_s"] == 16 and late[0]["caller_num"] == records[2]["caller_num"]
    assert [c["outcome"] for c in abandoned] == ["abandoned", "abandoned"]
    assert [c["uniqueid"] for c in excluded] == [records[-1]["uniqueid"]]
    assert len(within) == 4  # 3 at 10:00 (the transfer once), 1 at 11:00


async def test_case_counts_and_histories(store: TicketStore) -> None:
    records = await _known_day(store)
    async with store.engine.begin() as connection:
        # Each stored call opened a case; give three of them a district.
        for record, district in zip(records[:3], ("鼓楼区", "鼓楼区", "台江区"), strict=True):
            await connection.execute(
                update(tickets)
                .where(tickets.c.linkedid == record["linkedid"])
                .values(district=district, category="complaint")
            )
    start, end = DAY[0], DAY[1] + timedelta(days=3650)
    async with store.engine.connect() as connection:
        areas = await reports.case_counts(connection, start, end, "area")
        categories = await reports.case_counts(connection, start, end, "category")
        gulou = await reports.case_histories(connection, start, end, ReportFilter(area="鼓楼区"))
        gulou_calls = await reports.call_hours(connection, *DAY, ReportFilter(area="鼓楼区"))
        by_area = {r["key"]: r for r in await reports.call_groups(connection, *DAY, "area")}
    assert areas["鼓楼区"] == 2 and areas["台江区"] == 1
    assert categories["complaint"] == 3
    assert [case["area"] for case in gulou] == ["鼓楼区", "鼓楼区"]
    assert all(case["events"][0]["kind"] == "created" for case in gulou)
    assert sum(r["calls"] for r in gulou_calls) == 2
    assert (by_area["鼓楼区"]["calls"], by_area["台江区"]["calls"]) == (2, 1)
    assert by_area[""]["calls"] == 7  # the other 7 counted calls' cases have no area


async def test_case_figures_in_sql_equal_case_kpis_on_both_databases(store: TicketStore) -> None:
    """case_event_counts / case_callback_counts (JSON paths, the deadline in force, the unit
    holding the case) give case_kpis's figures on SQLite and PostgreSQL alike."""
    ids = await seed(store)
    week = periods.weekly(SEEDED_DAY.date(), SHANGHAI)
    report = await build_report(store.engine, week, ReportFilter(), KpiParams())
    async with store.engine.connect() as connection:
        histories = await reports.case_histories(connection, week.start, week.end)
        chase = {
            what: await reports.case_event_ids(connection, week.start, week.end, what)
            for what in ("overdue", "extended", "redone", "returned", "dissatisfied")
        }
        zjj_overdue = await reports.case_event_ids(
            connection, week.start, week.end, "overdue", unit="住建局"
        )
    assert report["case_kpis"] == case_section(histories)
    on_time = report["case_kpis"]["by_unit"]["住建局"]["on_time_rate"]
    assert (on_time["numerator"], on_time["denominator"]) == (2, 3)
    assert chase == {"overdue": [ids["c2"]], "extended": [ids["c2"]], "redone": [ids["c2"]],
                     "returned": [ids["c3"]], "dissatisfied": [ids["c2"]]}  # fmt: skip
    assert zjj_overdue == [ids["c2"]]


async def test_case_ids_are_the_cases_behind_each_figure_in_the_histories(
    store: TicketStore,
) -> None:
    """Every figure, part and unit the database can list gives the cases cases_behind finds
    in the histories."""
    await seed(store)
    month = periods.monthly(2026, 11, SHANGHAI)
    async with store.engine.connect() as connection:
        histories = await reports.case_histories(connection, month.start, month.end)
        checked = 0
        for figure in CASE_FIGURES:
            for part in PARTS:
                for holder in (None, "住建局", "水务局"):
                    ids = await reports.case_ids(
                        connection, month.start, month.end, figure, part, holder=holder
                    )
                    if ids is None:
                        continue
                    assert ids == cases_behind(histories, figure, part, holder), (
                        figure, part, holder,
                    )  # fmt: skip
                    checked += 1
    assert checked >= 40


async def test_a_call_belongs_to_its_first_legs_hour_with_all_its_legs(store: TicketStore) -> None:
    """A transfer whose second leg is counted after the hour's end stays one call, in the hour
    of its first leg (in scope: a queue's share in the hour of its first leg in that queue),
    with both legs; so hours and days add up to the whole period."""
    first = _call(3000, "transferred", 4)  # 10:50 Shanghai, general
    second = {**first, "leg": 1, "queue": "hotline-complaints", "outcome": "answered",
              "wait_s": 25, "answered_by": "Agent 2", "queue_entered_at": T0 + 3900}  # fmt: skip
    second.pop("key")
    await store.save_calls([first, second, _call(3700, "abandoned", 40)])
    ten, eleven, noon = (datetime.fromtimestamp(T0 + s, UTC) for s in (0, 3600, 7200))
    complaints = ReportFilter(queue="hotline-complaints")
    async with store.engine.connect() as connection:
        whole = await reports.call_hours(connection, ten, noon)
        first_hour = await reports.call_hours(connection, ten, eleven)
        second_hour = await reports.call_hours(connection, eleven, noon)
        queue_second_hour = await reports.call_hours(connection, eleven, noon, complaints)
        queue_first_hour = await reports.call_hours(connection, ten, eleven, complaints)
        keys = await reports.call_keys(connection, eleven, noon, "calls")
    assert [(r["hour"], r["calls"]) for r in whole] == [(ten, 1), (eleven, 1)]
    assert [(r["calls"], r["handlings"], r["transfers"], r["answered_wait_s"])
            for r in first_hour] == [(1, 2, 1, 4)]  # fmt: skip
    assert [(r["calls"], r["abandoned"], r["handlings"]) for r in second_hour] == [(1, 1, 0)]
    assert [(r["hour"], r["calls"], r["answered_wait_s"]) for r in queue_second_hour] == [
        (eleven, 1, 25)
    ]
    assert queue_first_hour == []
    assert [k["outcome"] for k in keys] == ["abandoned"]  # the transfer is 10:00's
