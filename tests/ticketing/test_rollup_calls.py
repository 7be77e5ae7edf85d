"""The call reports served from rollups (ticketing/rollup/call_reports.py) on SQLite and a real
PostgreSQL equal the raw queries (ticketing/reports.py) they stand for: on varied calls
(transfers straddling hours and a UTC day, several queues, surveys, exclusion windows,
cases with categories, areas and units, calls without a case), for a UTC day, a local day,
a partial range and a month, with and without each filter; after a full build, with hours
made dirty by later writes, and with other thresholds than the built ones."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from tests.ticketing.conftest import make_record
from ticketing import reports
from ticketing.qa import _agents as agents
from ticketing.qa import _users as users
from ticketing.reports import CALL_FIGURES, ReportFilter, Thresholds
from ticketing.rollup import call_reports, ledger, refresh
from ticketing.rollup.call_reports import _scan_runs
from ticketing.rollup.calls import MARKED_FIGURES
from ticketing.rollup.ledger import Plan
from ticketing.rollup.tables import (
    rollup_agent_legs,
    rollup_call_hour_keys,
    rollup_call_hours,
    rollup_call_marks,
    rollup_calls,
    rollup_legs,
)
from ticketing.store import TicketStore
from ticketing.tickets import tickets

QUEUES = ("hotline-general", "hotline-complaints", "hotline-water")
FIRST = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)  # two UTC days of calls, and a bit more
LAST = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
PERIODS = {
    "UTC day": (FIRST, FIRST + timedelta(days=1)),
    "local day": (datetime(2026, 11, 22, 16, tzinfo=UTC), datetime(2026, 11, 23, 16, tzinfo=UTC)),
    "partial": (datetime(2026, 11, 22, 5, 17, tzinfo=UTC), datetime(2026, 11, 23, 9, 43, 30,
                                                                       tzinfo=UTC)),
    "days and hours": (datetime(2026, 11, 21, 20, tzinfo=UTC), datetime(2026, 11, 23, 5,
                                                                        tzinfo=UTC)),
    "month": (datetime(2026, 10, 31, 16, tzinfo=UTC), datetime(2026, 11, 30, 16, tzinfo=UTC)),
}  # fmt: skip
FILTERS = (
    ReportFilter(),
    *(ReportFilter(queue=q) for q in QUEUES),
    ReportFilter(category="complaint"),
    ReportFilter(area="鼓楼区"),
    ReportFilter(unit="住建局"),
    ReportFilter(queue="hotline-complaints", category="complaint", unit="水务局"),
    ReportFilter(agent="agent1"),
    ReportFilter(agent="Agent 2"),
    ReportFilter(queue=""),
)
# Every filter on two periods, a few on the others.
CASES = [
    *(("partial", flt) for flt in FILTERS),
    *(("days and hours", FILTERS[i]) for i in (0, 2, 4, 7, 8)),
    *((name, flt) for name in ("UTC day", "local day", "month")
      for flt in (FILTERS[0], FILTERS[2], FILTERS[5])),
]  # fmt: skip
DEFAULT = Thresholds()
# Every figure's drill-down is compared without a filter (its first 3); these with one too,
# and their whole lists.
SOME_FIGURES = ("calls", "answered_late", "short_abandons", "dissatisfied", "excluded")
AGENTS = (("Agent 1", "PJSIP/1001"), ("Agent 2", "PJSIP/1002"), ("Agent 3", "PJSIP/1003"))


def _leg(rng: random.Random, at: datetime, queue: str | None, outcome: str) -> dict[str, Any]:
    answered = outcome in ("answered", "transferred")
    name, interface = rng.choice(AGENTS)
    return {
        "queue_entered_at": at.timestamp(),
        "queue": queue,
        "outcome": outcome,
        "wait_s": None if queue is None else rng.choice((0, 3, 5, 6, 14, 15, 16, 40, 95)),
        "talk_s": rng.randint(10, 300) if answered else None,
        "answered_by": name if answered else None,
        "member_interface": interface if answered else None,
        "ring_no_answer": ["PJSIP/1003"] * rng.randint(0, 2),
        "incident_id": "inc-1" if rng.random() < 0.05 else None,
        "vars": {} if queue is None else {"HOTLINE_QUEUE": queue},
    }


def _calls(rng: random.Random, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Calls every few minutes; a third go on to another queue (the next leg 2–25 minutes
    later, often over an hour's end), some of those twice."""
    records: list[dict[str, Any]] = []
    at = start
    while at < end:
        kind = rng.random()
        queue = rng.choice(QUEUES)
        if kind < 0.08:
            records.append(make_record(**_leg(rng, at, None, "ivr_hangup")))
        elif kind < 0.4:
            # Mostly an agent's transfer; some a queue's timeout going on to another queue.
            legs = [_leg(rng, at, queue, rng.choice(("transferred", "transferred", "timeout")))]
            moment = at
            for _ in range(rng.choice((1, 1, 2))):
                moment += timedelta(minutes=rng.randint(2, 25))
                last = rng.choice(("answered", "answered", "abandoned", "timeout", "transferred"))
                legs.append(_leg(rng, moment, rng.choice(QUEUES), last))
            first = make_record(**legs[0])
            records.append(first)
            for number, leg in enumerate(legs[1:], start=1):
                follow = {**first, **make_record(**leg), "leg": number}
                follow.update(linkedid=first["linkedid"], uniqueid=first["uniqueid"])
                follow.pop("key")
                records.append(follow)
        else:
            outcome = rng.choice(("answered", "answered", "answered", "abandoned", "timeout",
                                  "joinempty"))  # fmt: skip
            records.append(make_record(**_leg(rng, at, queue, outcome)))
        at += timedelta(minutes=rng.randint(3, 23))
    return records


async def _seed(store: TicketStore) -> list[dict[str, Any]]:
    rng = random.Random(12)
    # Calls around every hour's end and a UTC midnight, and a transfer across midnight.
    records = _calls(rng, FIRST, LAST)
    midnight = FIRST + timedelta(days=1)
    over = make_record(**_leg(rng, midnight - timedelta(minutes=3), "hotline-water",
                              "transferred"))  # fmt: skip
    second = make_record(**_leg(rng, midnight + timedelta(minutes=4), "hotline-general",
                                "answered"))  # fmt: skip
    second.update(leg=1, linkedid=over["linkedid"], uniqueid=over["uniqueid"])
    second.pop("key")
    # A queue named "" (stored as given): the all-queues row's key, not a second such row.
    nameless = make_record(**_leg(rng, FIRST + timedelta(hours=7, minutes=13), "", "answered"))
    records += [over, second, nameless]
    await store.save_calls(records)
    linkedids = sorted({r["linkedid"] for r in records})
    for linkedid in linkedids[::4]:
        answer = rng.choice(("satisfied", "basically_satisfied", "dissatisfied", "none"))
        await store.record_survey(linkedid, answer, LAST)
    for first, last, reason in ((190, 220, "系统故障"), (1430, 1460, "演练")):  # minutes
        await store.add_exclusion(FIRST + timedelta(minutes=first),
                                  FIRST + timedelta(minutes=last), reason, "boss")  # fmt: skip
    async with store.engine.begin() as connection:
        for linkedid in linkedids:
            await connection.execute(
                update(tickets).where(tickets.c.linkedid == linkedid).values(
                    category=rng.choice(("complaint", "consult", "other")),
                    district=rng.choice(("鼓楼区", "台江区", None)),
                    first_unit=rng.choice(("住建局", "水务局", None)),
                    handling_unit=rng.choice(("住建局", "水务局", "市供电公司", None)),
                )
            )  # fmt: skip
        # Calls without a case (history is append-only: the case just lets go of the call).
        for linkedid in linkedids[1::7]:
            await connection.execute(
                update(tickets).where(tickets.c.linkedid == linkedid).values(linkedid=None)
            )
        # Agent 1's interface belongs to the user agent1: the reports name its legs so.
        now = datetime.now(UTC)
        user_id = (
            await connection.execute(
                insert(users).values(username="agent1", display_name="坐席一", role="agent",
                                     password_hash="-", created_at=now, updated_at=now)
                .returning(users.c.id)
            )
        ).scalar_one()  # fmt: skip
        await connection.execute(
            insert(agents).values(user_id=user_id, extension="1001", interface="PJSIP/1001",
                                  name="Agent 1", pbx="pbx1", created_at=now, updated_at=now)
        )  # fmt: skip
    return records


async def _build(store: TicketStore, thresholds: Thresholds = DEFAULT) -> None:
    await refresh.build_all(
        store.engine, thresholds, start=FIRST - timedelta(days=1), end=LAST + timedelta(days=1)
    )


async def _assert_equal_raw(
    store: TicketStore, thresholds: Thresholds = DEFAULT, cases: Any = CASES
) -> int:
    """Every call report of call_reports equals the raw one for each (period, filter) of
    ``cases``; returns how many were compared."""
    compared = 0
    async with store.engine.connect() as connection:
        for name, flt in cases:
            at = (name, flt)
            args = (connection, *PERIODS[name])
            for query in ("call_hours", "queue_legs", "agent_legs"):
                want = await getattr(reports, query)(*args, flt, thresholds)
                got = await getattr(call_reports, query)(*args, flt, thresholds)
                assert got == want, (query, *at)
            for by in reports.CALL_GROUPS:
                want = await reports.call_groups(*args, by, flt, thresholds)
                got = await call_reports.call_groups(*args, by, flt, thresholds)
                assert got == want, ("call_groups", by, *at)
            every = flt == ReportFilter()
            for figure in CALL_FIGURES if every else SOME_FIGURES:
                for limit in (3, reports.DRILL_LIMIT) if figure in SOME_FIGURES else (3,):
                    want = await reports.call_keys(*args, figure, flt, thresholds, limit)
                    got = await call_reports.call_keys(*args, figure, flt, thresholds, limit)
                    assert got == want, ("call_keys", figure, limit, *at)
                    compared += 1
            compared += 6
    return compared


# The marked figures' drill-downs: with each filter the marks key, cut short and whole.
MARK_FILTERS = (*FILTERS[:8], ReportFilter(queue="hotline-water", area="台江区"))
MARK_LIMITS = (1, 4, reports.DRILL_LIMIT)


async def _assert_marks_equal_raw(store: TicketStore, periods: tuple[str, ...]) -> int:
    """call_keys of every MARKED_FIGURES figure, as the marks and raw runs serve it, equals
    the raw list for each period, filter and limit; returns how many lists were not empty."""
    listed = 0
    async with store.engine.connect() as connection:
        for name in periods:
            for flt in MARK_FILTERS:
                for figure in MARKED_FIGURES:
                    for limit in MARK_LIMITS:
                        args = (connection, *PERIODS[name], figure, flt, DEFAULT, limit)
                        want = await reports.call_keys(*args)
                        got = await call_reports.call_keys(*args)
                        assert got == want, (figure, limit, name, flt)
                        listed += bool(want)
    return listed


async def _marks(store: TicketStore, figure: str) -> list[dict[str, Any]]:
    m = rollup_call_marks.c
    query = (
        select(m.pbx, m.uniqueid, m.linkedid, m.at, m.caller_num, m.first_queue.label("queue"),
               m.outcome, m.wait_s, m.survey)
        .where(m.queue == "", m.figure == figure, m.at >= FIRST, m.at < LAST)
        .order_by(m.at, m.pbx, m.uniqueid)
    )  # fmt: skip
    async with store.engine.connect() as connection:
        rows = [dict(row._mapping) for row in await connection.execute(query)]
    for row in rows:
        at = row["at"]
        at = datetime.fromisoformat(at) if isinstance(at, str) else at
        row["at"] = (
            at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        ).isoformat()
    return rows


async def _count(store: TicketStore, table: Any) -> int:
    async with store.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


async def test_call_reports_from_rollups_equal_the_raw_queries(store: TicketStore) -> None:
    records = await _seed(store)
    await _build(store)
    for table in (
        rollup_calls,
        rollup_call_hours,
        rollup_call_hour_keys,
        rollup_legs,
        rollup_agent_legs,
    ):
        assert await _count(store, table) > 0, table.name
    async with store.engine.connect() as connection:
        day = await ledger.plan(connection, *PERIODS["UTC day"], Thresholds())
        local = await ledger.plan(connection, *PERIODS["days and hours"], Thresholds())
        # The reports below read rollup days and hours, not only raw rows.
        assert day.days == (PERIODS["UTC day"],) and not day.raw
        assert local.days and local.hours and not local.raw
        # The rolled hours count each call once, in its first leg's hour, as raw does.
        whole = await reports.call_hours(connection, FIRST, LAST)
        rolled = await call_reports.call_hours(connection, FIRST, LAST)
        assert rolled == whole
        calls = {(r["pbx"], r["uniqueid"]) for r in records}
        excluded = await reports.excluded_calls(connection, FIRST, LAST)
        assert sum(r["calls"] for r in whole) + sum(excluded.values()) == len(calls)
    assert await _assert_equal_raw(store) > 400
    # The marks hold, per figure, exactly the calls (and what is listed of them) raw lists.
    async with store.engine.connect() as connection:
        for figure in MARKED_FIGURES:
            want = await reports.call_keys(connection, FIRST, LAST, figure)
            assert await _marks(store, figure) == want != [], figure
    assert await _assert_marks_equal_raw(store, ("partial", "month")) > 150
    # A survey figure's drill-down (which starts from the surveyed calls) lists the calls of
    # the whole list whose survey says so.
    async with store.engine.connect() as connection:
        every = await reports.call_keys(connection, FIRST, LAST, "calls")
        for figure, answers in (("dissatisfied", {"dissatisfied"}), ("survey_none", {"none"}),
                                ("content", {"satisfied", "basically_satisfied"})):  # fmt: skip
            listed = await reports.call_keys(connection, FIRST, LAST, figure)
            assert listed == [c for c in every if c["survey"] in answers] != []
        # So do the figures of calls no agent answered (which start from unanswered legs).
        for figure, outcome in (("abandoned", "abandoned"), ("timeouts", "timeout"),
                                ("join_rejections", "joinempty"),
                                ("ivr_hangups", "ivr_hangup")):  # fmt: skip
            listed = await reports.call_keys(connection, FIRST, LAST, figure)
            assert listed == [c for c in every if c["outcome"] == outcome] != []


async def test_dirty_hours_are_read_raw_until_rebuilt(store: TicketStore) -> None:
    records = await _seed(store)
    await _build(store)
    # After the build: a third leg of a transfer (counted in the next hour), a new call, a
    # survey, a case moved to another category. The triggers mark their hours dirty.
    inside = FIRST + timedelta(hours=6), FIRST + timedelta(hours=20)  # in "partial"

    def within(record: dict[str, Any]) -> bool:
        return inside[0].timestamp() <= record["queue_entered_at"] < inside[1].timestamp()

    transfer = next(r for r in records if r["leg"] == 1 and within(r))
    moved = datetime.fromtimestamp(transfer["queue_entered_at"], UTC) + timedelta(minutes=55)
    third = {name: value for name, value in transfer.items() if name != "key"}
    third.update(leg=2, queue="hotline-water", outcome="abandoned", wait_s=70,
                 queue_entered_at=moved.timestamp(), answered_by=None, member_interface=None,
                 talk_s=None)  # fmt: skip
    fresh = make_record(queue_entered_at=(inside[0] + timedelta(minutes=1)).timestamp(),
                        queue="hotline-complaints", answered_by="Agent 2",
                        member_interface="PJSIP/1002")  # fmt: skip
    await store.save_calls([third, fresh])
    firsts = [r for r in records if r["leg"] == 0 and within(r)]
    await store.record_survey(firsts[1]["linkedid"], "dissatisfied", LAST)
    async with store.engine.begin() as connection:
        await connection.execute(
            update(tickets).where(tickets.c.linkedid == firsts[2]["linkedid"])
            .values(category="complaint", first_unit="水务局")
        )  # fmt: skip
    async with store.engine.connect() as connection:
        plan = await ledger.plan(connection, *PERIODS["partial"], Thresholds())
    assert plan.raw and plan.hours  # dirty hours are read raw, the others rolled
    await _assert_equal_raw(store, cases=CASES[::2])
    await _assert_marks_equal_raw(store, ("partial",))
    # Rebuilt, the same.
    await refresh.refresh(store.engine, Thresholds(), now=LAST + timedelta(days=1))
    async with store.engine.connect() as connection:
        plan = await ledger.plan(connection, *PERIODS["partial"], Thresholds())
    assert len(plan.raw) == 2  # only the partial hours at its edges
    await _assert_equal_raw(store, cases=CASES[::5])
    await _assert_marks_equal_raw(store, ("partial",))


async def test_other_thresholds_than_the_built_ones_read_raw(store: TicketStore) -> None:
    await _seed(store)
    await _build(store, Thresholds(answer_threshold_s=20, short_abandon_s=10))
    other = Thresholds(answer_threshold_s=15, short_abandon_s=5)
    await _assert_equal_raw(store, other, cases=CASES[::4])


def test_a_drill_down_reads_only_the_hours_holding_its_first_calls() -> None:
    hour = timedelta(hours=1)
    h = [FIRST + hour * i for i in range(10)]
    plan = Plan(
        raw=((FIRST - timedelta(minutes=30), FIRST), (h[4], h[5])),
        hours=((h[0], h[4]), (h[5], h[10 - 1])),
        _hourly=((h[0], h[4]), (h[5], h[9])),
    )
    counts = {h[1]: 2, h[2]: 1, h[6]: 4, h[7]: 9}
    # Hours with none are skipped; the scan stops at the hour the counts reach the limit.
    assert _scan_runs(plan, counts, 3) == [(FIRST - timedelta(minutes=30), FIRST), (h[1], h[3])]
    assert _scan_runs(plan, counts, 4) == [
        (FIRST - timedelta(minutes=30), FIRST), (h[1], h[3]), (h[4], h[5]),
        (h[6], h[7]),
    ]  # fmt: skip
    assert _scan_runs(plan, {}, 5) == [(FIRST - timedelta(minutes=30), FIRST), (h[4], h[5])]
