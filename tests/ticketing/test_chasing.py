"""The chase sweep (催办/督办) on SQLite and PostgreSQL: due soon, overdue with escalation,
not signed, repeated; each chase once across restarts and two service instances; none
missed while the service was down; the scheduler publishes typed events."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from events.payloads import problems
from events.topics import CASE_CHASED, CASE_ESCALATED
from ticketing.store import TicketStore
from ticketing.workflow import Actor
from ticketing.workflow.chase_scheduler import ChaseScheduler
from ticketing.workflow.deadlines import CaseTimers, policy
from working_days import BusinessHours, WorkingCalendar, WorkingTime

SHANGHAI = ZoneInfo("Asia/Shanghai")
AGENT = Actor("li", "agent")
BOSS = Actor("zhao", "supervisor")
UNIT_STAFF = Actor("wang", "unit", "住建局")
SOON = dt.timedelta(hours=4)


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def timers() -> CaseTimers:
    return CaseTimers(
        WorkingTime(WorkingCalendar(), BusinessHours(dt.time(9), dt.time(17))), policy("county")
    )


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[TicketStore]:
    opened = await TicketStore.open(db_url, timers=timers())
    await opened.add_unit("住建局")
    try:
        yield opened
    finally:
        await opened.close()


async def dispatched(store: TicketStore, at: dt.datetime, sign: bool = True) -> dict[str, Any]:
    case = await store.register_case(AGENT, {"category": "consultation"}, at=at)
    case = await store.apply_action(case["id"], "dispatch", AGENT, {"unit": "住建局"}, 1, now=at)
    if sign:
        case = await store.apply_action(case["id"], "sign", UNIT_STAFF, {}, 2, now=at)
    return case


def levels(notices: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    return [(n["level"], n["escalated"]) for n in notices]


async def test_due_soon_then_overdue_each_once(store: TicketStore) -> None:
    case = await dispatched(store, local("2026-11-23 10:00"))  # due Thu 26th 17:00 (3 wd)
    assert await store.sweep_chases(local("2026-11-24 10:00"), SOON) == []
    soon = await store.sweep_chases(local("2026-11-26 14:00"), SOON)
    assert levels(soon) == [("due_soon", False)]
    assert await store.sweep_chases(local("2026-11-26 15:00"), SOON) == []
    late = await store.sweep_chases(local("2026-11-26 17:30"), SOON)
    assert levels(late) == [("overdue", True)]
    assert await store.sweep_chases(local("2026-11-27 09:00"), SOON) == []
    after = await store.get_case(case["id"])
    assert after["supervised"] is True
    chases = [
        (e["kind"], e["actor"], e["data"]["fields"].get("level"))
        for e in await store.case_history(case["id"])
        if e["kind"] in ("chase", "supervise")
    ]
    assert chases == [
        ("chase", "chase-scheduler", "due_soon"),
        ("chase", "chase-scheduler", "overdue"),
        ("supervise", "chase-scheduler", None),
    ]


async def test_none_missed_while_down_and_a_moved_deadline_is_chased_again(
    store: TicketStore,
) -> None:
    case = await dispatched(store, local("2026-11-23 10:00"), sign=False)
    # Down from dispatch until long after the deadline: one sweep catches up, without the
    # stale "due soon".
    caught_up = await store.sweep_chases(local("2026-11-30 09:00"), SOON)
    assert sorted(levels(caught_up)) == [("overdue", True), ("sign_overdue", False)]
    case = await store.get_case(case["id"])  # the sweep chased it: a new version
    case = await store.apply_action(case["id"], "sign", UNIT_STAFF, {}, case["version"])
    case = await store.apply_action(
        case["id"], "request_extension", UNIT_STAFF, {"reason": "r", "days": 3}, case["version"]
    )
    case = await store.apply_action(case["id"], "approve_extension", BOSS, {}, case["version"])
    assert case["due_at"] == local("2026-12-01 17:00").astimezone(dt.UTC).isoformat()
    again = await store.sweep_chases(local("2026-12-01 18:00"), SOON)
    assert levels(again) == [("overdue", True)]


async def test_two_instances_sweeping_at_once_chase_once(db_url: str) -> None:
    first = await TicketStore.open(db_url, timers=timers())
    second = await TicketStore.open(db_url, timers=timers())
    await first.add_unit("住建局")
    try:
        for n in range(3):
            await dispatched(first, local(f"2026-11-23 1{n}:00"))
        now = local("2026-11-27 09:00")
        done = await asyncio.gather(first.sweep_chases(now, SOON), second.sweep_chases(now, SOON))
        assert sorted(levels(done[0] + done[1])) == [("overdue", True)] * 3
        # A restart (a new store on the same database) finds nothing left to do.
        assert await second.sweep_chases(now, SOON) == []
    finally:
        await first.close()
        await second.close()


async def test_a_repeated_case_is_escalated(store: TicketStore) -> None:
    case = await dispatched(store, local("2026-11-23 10:00"))
    again = await store.register_case(AGENT, {"caller_number": "13800000000"})
    await store.apply_action(again["id"], "merge", AGENT, {"into": case["number"]}, 1)
    repeat = await store.sweep_chases(local("2026-11-23 11:00"), SOON)
    assert levels(repeat) == [("repeat", True)]
    assert await store.sweep_chases(local("2026-11-23 12:00"), SOON) == []


async def test_a_finished_case_is_not_chased(store: TicketStore) -> None:
    case = await dispatched(store, local("2026-11-23 10:00"))
    await store.apply_action(case["id"], "answer", UNIT_STAFF, {"answer": "ok"}, 3)
    assert await store.sweep_chases(local("2026-12-30 10:00"), SOON) == []


async def test_the_scheduler_publishes_typed_events(store: TicketStore) -> None:
    await dispatched(store, local("2026-11-23 10:00"))
    published: list[tuple[str, dict[str, Any]]] = []
    scheduler = ChaseScheduler(
        store,
        lambda topic, payload: published.append((topic, payload)),
        due_soon=SOON,
        clock=lambda: local("2026-11-27 09:00"),
    )
    await scheduler.sweep()
    assert [topic for topic, _ in published] == [CASE_CHASED, CASE_ESCALATED]
    for topic, payload in published:
        assert problems(topic, payload) == []
    assert scheduler.status() == {"ok": True, "sweeps": 1, "chases": 1}


async def test_a_sweep_during_a_database_outage_is_retried(
    postgres_url: str, postgres_server: Any
) -> None:
    store = await TicketStore.open(postgres_url, timers=timers())
    await store.add_unit("住建局")
    published: list[str] = []
    scheduler = ChaseScheduler(
        store, lambda topic, _: published.append(topic), interval=0.05, due_soon=SOON,
        clock=lambda: local("2026-11-27 09:00"),
    )  # fmt: skip
    try:
        await dispatched(store, local("2026-11-23 10:00"))
        with postgres_server.stopped():
            scheduler.start()
            async with asyncio.timeout(60):
                await scheduler.attempted.wait()
            assert scheduler.last_error is not None
            assert "warning" in scheduler.status() and published == []
        async with asyncio.timeout(60):
            while scheduler.last_error is not None:  # the sweeps after the outage
                scheduler.attempted.clear()
                await scheduler.attempted.wait()
        assert published == [CASE_CHASED, CASE_ESCALATED]
    finally:
        await scheduler.stop()
        await store.close()
