"""The case reports from rollups (ticketing/rollup/case_reports.py) equal the raw queries
(ticketing/reports.py) on SQLite and a real PostgreSQL: cases in several hours, days,
categories, areas and units, walked through the workflow (dispatched, answered on time and
late, extended, redone, returned on time and late, re-dispatched, called back with every
rating, answered directly, never dispatched); over a day, a partial range and a month, with
and without each filter and holder; after a full build, after a late event on an old case
(its hour is dirty: read raw) and after the rebuild. The drill-downs of the chased figures
read rolled hours from rollup_case_marks (not the raw query), kept and rebuilt per hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from hotline.reports import periods
from hotline.reports.build import CASE_FIGURES, PARTS
from tests.ticketing.conftest import make_record
from tests.web.report_helpers import AGENT, BOSS, SHANGHAI, SWJ, ZJJ, seed
from ticketing import reports
from ticketing.reports import ReportFilter, Thresholds
from ticketing.rollup import case_reports, ledger, refresh
from ticketing.rollup.tables import rollup_case_marks, rollup_cases
from ticketing.store import TicketStore
from ticketing.tickets import ticket_events, tickets
from ticketing.workflow import Actor

CGJ = Actor("zhou", "unit", "城管局")
H = timedelta(hours=1)
MONTH = periods.monthly(2026, 11, SHANGHAI)
DAY = periods.daily(datetime(2026, 11, 23).date(), SHANGHAI)
# Partial hours at both edges: 03:25 splits the hour of x1 (03:10) and x2 (03:40).
PARTIAL = (datetime(2026, 11, 20, 3, 25, tzinfo=UTC), datetime(2026, 11, 23, 5, 45, tzinfo=UTC))
RANGES = {
    "day": (DAY.start, DAY.end),
    "partial": PARTIAL,
    "month": (MONTH.start, MONTH.end),
}
FILTERS = (
    ReportFilter(),
    ReportFilter(category="complaint"),
    ReportFilter(area="鼓楼区"),
    ReportFilter(unit="住建局"),
    ReportFilter(unit="城管局"),  # only ever the handling unit, never the first
    ReportFilter(category="complaint", area="台江区"),
    ReportFilter(area=""),  # read raw: the rollups key an absent area ""
    ReportFilter(queue="hotline-general"),  # calls only: the cases are not filtered
)
DRILL_FILTERS = (ReportFilter(), ReportFilter(unit="住建局"))
UNITS = (None, "住建局", "城管局")
MARK_UNITS = (*UNITS, "水务局", "")  # "": read raw (the marks key a case no unit held "")
WHATS = ("overdue", "extended", "redone", "returned", "dissatisfied")


async def _case(store: TicketStore, at: datetime, category: str, district: str | None) -> int:
    record = make_record(queue_entered_at=at.timestamp())
    await store.save_calls([record])
    async with store.engine.begin() as connection:
        await connection.execute(
            update(tickets).where(tickets.c.linkedid == record["linkedid"])
            .values(category=category, district=district)
        )  # fmt: skip
        return int((await connection.execute(
            select(tickets.c.id).where(tickets.c.linkedid == record["linkedid"])
        )).scalar_one())  # fmt: skip


async def _walk(store: TicketStore, case_id: int, t0: datetime, steps: list[Any]) -> None:
    for action, actor, fields, after in steps:
        case = await store.get_case(case_id)
        if action == "call_back":
            await store.record_call_back(
                case_id, actor, "agent", fields["satisfaction"], case["version"],
                process_satisfaction=fields.get("process_satisfaction"), now=t0 + after,
            )  # fmt: skip
        else:
            await store.apply_action(
                case_id, action, actor, fields, case["version"], now=t0 + after
            )


async def _seed(store: TicketStore) -> dict[str, int]:
    """report_helpers' cases (23 and 16 November) and more, on other days and hours."""
    ids = await seed(store)
    await store.add_unit("城管局")
    day = timedelta(days=1)
    x1 = datetime(2026, 11, 20, 3, 10, tzinfo=UTC)
    ids["x1"] = await _case(store, x1, "consultation", "鼓楼区")
    await _walk(store, ids["x1"], x1, [
        ("dispatch", AGENT, {"unit": "水务局"}, H), ("sign", SWJ, {}, 2 * H),
        ("answer", SWJ, {"answer": "好"}, 3 * H),
        ("call_back", AGENT, {"satisfaction": "basically_satisfied",
                              "process_satisfaction": "dissatisfied"}, 4 * H),
    ])  # fmt: skip
    x2 = datetime(2026, 11, 20, 3, 40, tzinfo=UTC)
    ids["x2"] = await _case(store, x2, "complaint", "台江区")
    await _walk(store, ids["x2"], x2, [
        ("dispatch", AGENT, {"unit": "住建局"}, H),
        ("return", ZJJ, {"reason": "非本单位", "basis": "三定"}, 2 * H),
        ("approve_return", BOSS, {}, 3 * H),
        ("dispatch", AGENT, {"unit": "城管局"}, 4 * H), ("sign", CGJ, {}, 5 * H),
        ("answer", CGJ, {"answer": "迟"}, 30 * day),
        ("call_back", AGENT, {"satisfaction": "dissatisfied",
                              "process_satisfaction": "satisfied"}, 31 * day),
        ("answer", CGJ, {"answer": "重办"}, 32 * day),
    ])  # fmt: skip
    # No area, never dispatched.
    ids["x3"] = await _case(store, datetime(2026, 11, 21, 9, 0, tzinfo=UTC), "help", None)
    # An area stored empty: keyed "" with the absent ones.
    ids["x8"] = await _case(store, datetime(2026, 11, 21, 9, 30, tzinfo=UTC), "help", "")
    x4 = datetime(2026, 11, 21, 9, 20, tzinfo=UTC)
    ids["x4"] = await _case(store, x4, "consultation", "台江区")
    await _walk(store, ids["x4"], x4, [
        ("answer_directly", AGENT, {"answer": "知识库"}, H), ("close", AGENT, {}, 2 * H),
        ("call_back", AGENT, {"satisfaction": "satisfied"}, 3 * H),
    ])  # fmt: skip
    x5 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    ids["x5"] = await _case(store, x5, "complaint", "鼓楼区")
    await _walk(store, ids["x5"], x5, [
        ("dispatch", AGENT, {"unit": "住建局"}, H), ("sign", ZJJ, {}, 2 * H),
        ("request_extension", ZJJ, {"reason": "r", "days": 1}, 3 * H),
        ("approve_extension", BOSS, {}, 4 * H),
        ("request_extension", ZJJ, {"reason": "r", "days": 1}, 5 * H),
        ("approve_extension", BOSS, {}, 6 * H),
        ("answer", ZJJ, {"answer": "好"}, 7 * H),
    ])  # fmt: skip
    # A return asked after its window (the workflow refuses one now; an older history holds it).
    x6 = datetime(2026, 11, 25, 1, 30, tzinfo=UTC)
    ids["x6"] = await _case(store, x6, "help", "鼓楼区")
    await _walk(store, ids["x6"], x6, [("dispatch", AGENT, {"unit": "水务局"}, H)])
    async with store.engine.begin() as connection:
        await connection.execute(insert(ticket_events).values(
            ticket_id=ids["x6"], at=x6 + 10 * day, kind="return", actor="liu",
            data={"from": "dispatched", "to": "return_requested", "unit": "水务局",
                  "fields": {"reason": "r", "basis": "b"}},
        ))  # fmt: skip
    # Called back three times unreachable: a call-back without a rating.
    x9 = datetime(2026, 11, 25, 2, 10, tzinfo=UTC)
    ids["x9"] = await _case(store, x9, "consultation", "台江区")
    await _walk(store, ids["x9"], x9, [
        ("dispatch", AGENT, {"unit": "城管局"}, H), ("sign", CGJ, {}, 2 * H),
        ("answer", CGJ, {"answer": "好"}, 3 * H),
        *[("call_back", AGENT, {"satisfaction": "unreachable"}, (4 + n) * H) for n in range(3)],
    ])  # fmt: skip
    # 1 December in Shanghai, still November in UTC: outside the month.
    x7 = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)
    ids["x7"] = await _case(store, x7, "complaint", "鼓楼区")
    await _walk(store, ids["x7"], x7, [("dispatch", AGENT, {"unit": "住建局"}, H)])
    return ids


async def _both(store: TicketStore, name: str, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    async with store.engine.connect() as connection:
        raw = await getattr(reports, name)(connection, *args, **kwargs)
        rolled = await getattr(case_reports, name)(connection, *args, **kwargs)
    return raw, rolled


async def _all_equal(
    store: TicketStore,
    ranges: tuple[str, ...] = tuple(RANGES),
    drills: tuple[Any, ...] = DRILL_FILTERS,
) -> int:
    """Every case_reports function equals the raw one, for every range and filter; the
    drill-downs for each holder and a few limits (the hours a short list reads are bounded)."""
    checked = 0
    for label in ranges:
        start, end = RANGES[label]
        for flt in FILTERS:
            calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
            calls += [("case_counts", (by,), {}) for by in ("category", "area", "unit")]
            calls += [("case_event_counts", (by,), {}) for by in reports.CASE_KEYS]
            calls += [("case_callback_counts", (by,), {}) for by in ("category", "area", "total")]
            # The marked lists, with every filter: limits 1 and 2 end in a raw edge or
            # just past it (the partial range opens with x2's raw hour).
            calls += [
                ("case_event_ids", (what,), {"unit": unit, "limit": limit})
                for what in WHATS for unit in MARK_UNITS for limit in (1, 2, 5000)
                if flt in drills or (unit is None and limit == 5000)
            ]  # fmt: skip
            if flt in drills:
                calls += [
                    ("case_ids", (figure, part), {"holder": holder, "limit": limit})
                    for figure in CASE_FIGURES for part in PARTS for holder in UNITS
                    for limit in (1, 2, 5000)
                ]  # fmt: skip
            for name, args, kwargs in calls:
                raw, rolled = await _both(store, name, start, end, *args, flt=flt, **kwargs)
                assert rolled == raw, (label, flt, name, args, kwargs)
                checked += 1
    return checked


async def _plan(store: TicketStore) -> ledger.Plan:
    async with store.engine.connect() as connection:
        return await ledger.plan(connection, MONTH.start, MONTH.end)


async def test_case_reports_from_rollups_equal_the_raw_queries(store: TicketStore) -> None:
    ids = await _seed(store)
    # Nothing built: everything is raw, and equal.
    assert not (await _plan(store)).rolled
    await refresh.build_all(
        store.engine, Thresholds(), datetime(2026, 10, 31, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )  # fmt: skip
    built = await _plan(store)
    assert built.days and not built.raw  # the month is read from day rows
    async with store.engine.connect() as connection:
        rows = await connection.scalar(select(func.count()).select_from(rollup_cases))
    assert rows
    assert await _all_equal(store) > 500

    # The figures hold what the histories hold (the raw ones are tested against case_kpis).
    async with store.engine.connect() as connection:
        units = await case_reports.case_event_counts(connection, MONTH.start, MONTH.end, "unit")
        overdue = await case_reports.case_event_ids(connection, MONTH.start, MONTH.end, "overdue")
    assert units["住建局"]["extended"] == 2  # c2 once, x5 once for its two extensions
    assert units["水务局"]["late_returns"] == 1 and units["城管局"]["redone"] == 1
    assert units["城管局"]["rated"] == 1  # x2's; x9's unreachable call-back is not rated
    assert overdue == [ids["x2"], ids["c2"]]  # by opening: 20 November before 23 November

    # A short list reads raw only the hours holding its first cases: the first overdue case's.
    read: list[list[ledger.Run]] = []
    async with store.engine.connect() as connection:

        async def spy(runs: list[ledger.Run], wanted: int) -> list[int]:
            read.append(runs)
            opened = [ledger.in_runs(tickets.c.created_at, runs)]
            return await reports.case_event_ids_where(connection, opened, "overdue", None, wanted)

        late = rollup_cases.c.answered - rollup_cases.c.on_time
        first = await case_reports._first_cases(
            connection, built, ReportFilter(), late, rollup_cases.c.unit != "", spy, 1
        )
    x2_hour = datetime(2026, 11, 20, 3, tzinfo=UTC)
    assert first == [ids["x2"]] and read == [[(x2_hour, x2_hour + H)]]

    # A late event on an old case marks its opening hour dirty: read raw there, still equal.
    await store.apply_action(
        ids["x6"], "chase", AGENT, {"reason": "催"}, (await store.get_case(ids["x6"]))["version"],
        now=datetime(2026, 12, 2, tzinfo=UTC),
    )  # fmt: skip
    async with store.engine.begin() as connection:
        await connection.execute(insert(ticket_events).values(
            ticket_id=ids["x1"], at=datetime(2026, 12, 2, tzinfo=UTC), kind="redo", actor="zhao",
            data={"from": "callback", "to": "redo"},
        ))  # fmt: skip
    dirty = await _plan(store)
    assert (datetime(2026, 11, 20, 3, tzinfo=UTC), datetime(2026, 11, 20, 4, tzinfo=UTC)) in (
        dirty.raw
    )
    assert await _all_equal(store, ("month",), (ReportFilter(),)) > 150
    async with store.engine.connect() as connection:
        units = await case_reports.case_event_counts(connection, MONTH.start, MONTH.end, "unit")
    assert units["水务局"]["redone"] == 1  # x1's late redo, read raw

    # Rebuilt: the rollups again, with the late events in.
    done = await refresh.refresh(store.engine, Thresholds(), now=datetime(2026, 12, 3, tzinfo=UTC))
    assert done.hours >= 2
    rebuilt = await _plan(store)
    assert rebuilt.days and not rebuilt.raw
    assert await _all_equal(store, ("month",), (ReportFilter(),)) > 150


async def _marks(store: TicketStore) -> set[tuple[str, int, str, str, str]]:
    """(figure, case, unit, category, handling unit) of every mark."""
    m = rollup_case_marks.c
    async with store.engine.connect() as connection:
        rows = await connection.execute(
            select(m.figure, m.ticket_id, m.unit, m.category, m.handling_unit)
        )
        return {(r.figure, int(r.ticket_id), r.unit, r.category, r.handling_unit) for r in rows}


async def test_the_chased_lists_are_read_from_the_marks_of_their_hours(
    store: TicketStore, monkeypatch: Any
) -> None:
    ids = await _seed(store)
    assert await _marks(store) == set()  # nothing built, nothing marked
    await refresh.build_all(
        store.engine, Thresholds(), datetime(2026, 10, 31, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )  # fmt: skip
    marks = await _marks(store)
    x2, x5, x6, x9 = ids["x2"], ids["x5"], ids["x6"], ids["x9"]
    # x2: returned by 住建局, answered late by 城管局, rated dissatisfied (so redone) while
    # 城管局 held it.
    assert {m for m in marks if m[1] == x2} == {
        (figure, x2, "城管局", "complaint", "城管局")
        for figure in ("overdue", "dissatisfied", "redone")
    } | {("returned", x2, "住建局", "complaint", "城管局")}
    # Two extensions for 住建局 are one mark; x6's late return one; x9's unreachable none.
    assert {m[:3] for m in marks if m[1] == x5} == {("extended", x5, "住建局")}
    assert {m[:3] for m in marks if m[1] == x6} == {("returned", x6, "水务局")}
    assert not [m for m in marks if m[1] == x9]
    async with store.engine.connect() as connection:
        hours = await connection.execute(
            select(rollup_case_marks.c.hour, tickets.c.created_at)
            .join(tickets, tickets.c.id == rollup_case_marks.c.ticket_id)
        )  # fmt: skip
        for hour, created in hours:
            assert reports._aware(hour) == ledger.floor_hour(reports._aware(created))

    # A month of rolled hours lists from the marks only: the raw lister is never asked.
    async def no_raw(*args: Any) -> list[int]:
        raise AssertionError(f"read raw: {args}")

    monkeypatch.setattr(reports, "case_event_ids_where", no_raw)
    async with store.engine.connect() as connection:
        overdue = await case_reports.case_event_ids(connection, MONTH.start, MONTH.end, "overdue")
        extended = await case_reports.case_ids(
            connection, MONTH.start, MONTH.end, "extension_rate", holder="住建局"
        )
    assert overdue == [x2, ids["c2"]]
    assert extended == [ids["c2"], x5]  # 23 November before 25 November
    monkeypatch.undo()

    # A mark goes with its hour: a stale one is deleted when the hour is rebuilt, and a
    # case's new keys and late events are marked when its dirty hour is.
    x2_hour = datetime(2026, 11, 20, 3, tzinfo=UTC)
    async with store.engine.begin() as connection:
        await connection.execute(insert(rollup_case_marks).values(
            hour=x2_hour, figure="redone", created_at=x2_hour, ticket_id=x2, unit="水务局",
            category="", area="", first_unit="", handling_unit="",
        ))  # fmt: skip
        await refresh.rebuild(connection, x2_hour, x2_hour + H, Thresholds())
    assert await _marks(store) == marks
    async with store.engine.begin() as connection:
        await connection.execute(
            update(tickets).where(tickets.c.id == x2).values(category="consultation")
        )
        await connection.execute(insert(ticket_events).values(
            ticket_id=ids["x1"], at=datetime(2026, 12, 2, tzinfo=UTC), kind="redo", actor="zhao",
            data={"from": "callback", "to": "redo"},
        ))  # fmt: skip
    dirty = await _plan(store)
    assert (x2_hour, x2_hour + H) in dirty.raw
    assert await _marks(store) == marks  # kept until rebuilt (read raw meanwhile)
    assert await _all_equal(store, ("month", "partial"), (ReportFilter(),)) > 150
    await refresh.refresh(store.engine, Thresholds(), now=datetime(2026, 12, 3, tzinfo=UTC))
    assert not (await _plan(store)).raw
    rebuilt = await _marks(store)
    # x2's marks carry its new category; x1's late redo (while 水务局 held it) is marked.
    assert rebuilt - marks == {
        (figure, case, unit, "consultation", handler)
        for figure, case, unit, _, handler in marks
        if case == x2
    } | {("redone", ids["x1"], "水务局", "consultation", "水务局")}
    assert marks - rebuilt == {m for m in marks if m[1] == x2}
    assert await _all_equal(store, ("month", "partial"), (ReportFilter(),)) > 150
