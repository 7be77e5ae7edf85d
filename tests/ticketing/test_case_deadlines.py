"""Deadline policy as data, and the timers the workflow's actions set and move in the store
(SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ticketing.store import TicketStore
from ticketing.workflow import Actor, ForbiddenTransition
from ticketing.workflow.deadlines import PRESETS, CaseTimers, Limit, policy
from working_days import BusinessHours, WorkingCalendar, WorkingTime

SHANGHAI = ZoneInfo("Asia/Shanghai")
AGENT = Actor("li", "agent")
BOSS = Actor("zhao", "supervisor")
UNIT_STAFF = Actor("wang", "unit", "住建局")


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def utc(text: str) -> str:
    return local(text).astimezone(dt.UTC).isoformat()


def test_the_three_presets_of_the_domain_brief() -> None:
    county, city_a, city_b = PRESETS["county"], PRESETS["city_a"], PRESETS["city_b"]
    assert str(county.limit_for("consultation")) == "3wd"
    assert str(county.limit_for("complaint", "urgent")) == "1wd"
    assert str(city_a.limit_for("help", "urgent")) == "15min"
    assert [str(city_a.limit_for(c)) for c in ("consultation", "help", "complaint", "report")] == [
        "48h", "24h", "4wd", "10wd",
    ]  # fmt: skip
    # City B has no urgent limit of its own: the category's applies.
    assert str(city_b.limit_for("report", "urgent")) == "10wd"
    assert str(county.sign) == "24wh" and str(county.return_window) == "1wd"
    assert county.extension_rule("consultation").times == 1
    assert county.extension_rule("help", "urgent").times == 0


def test_limits_are_editable_per_category_and_checked() -> None:
    edited = policy("county", {"complaint": "4wd", "help": "24h"})
    assert str(edited.limit_for("complaint")) == "4wd"
    assert str(edited.limit_for("help")) == "24h"
    assert str(PRESETS["county"].limit_for("complaint")) == "5wd"  # the preset is untouched
    with pytest.raises(ValueError, match="unknown case kind"):
        policy("county", {"gossip": "1wd"})
    with pytest.raises(ValueError, match=r"e\.g\. 3wd"):
        policy("county", {"help": "three days"})
    with pytest.raises(ValueError, match="whole days"):
        Limit.parse("1.5wd")
    with pytest.raises(ValueError, match="unknown deadline preset"):
        policy("city_z")


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[TicketStore]:
    timers = CaseTimers(
        WorkingTime(WorkingCalendar(), BusinessHours(dt.time(9), dt.time(17))), policy("county")
    )
    opened = await TicketStore.open(db_url, timers=timers)
    await opened.add_unit("住建局")
    try:
        yield opened
    finally:
        await opened.close()


async def dispatched(store: TicketStore, at: dt.datetime, category: str = "help") -> dict[str, Any]:
    case = await store.register_case(AGENT, {"category": category}, at=at)
    return await store.apply_action(
        case["id"], "dispatch", AGENT, {"unit": UNIT_STAFF.unit}, 1, now=at
    )


async def test_dispatch_sets_the_timers_in_utc(store: TicketStore) -> None:
    case = await dispatched(store, local("2026-09-30 16:00"), "consultation")
    assert case["due_at"] == utc("2026-10-10 17:00")  # 3 wd over National Day
    assert case["sign_due_at"] == utc("2026-10-10 16:00")  # 24 working hours
    assert case["return_until"] == utc("2026-10-08 17:00")  # 1 wd
    [_created, event] = await store.case_history(case["id"])
    assert event["data"]["timers"]["due_at"] == case["due_at"]


async def test_the_edges_through_a_dispatch(
    store: TicketStore, caplog: pytest.LogCaptureFixture
) -> None:
    """The calendar's edges as a dispatched case meets them (county preset, 9:00–17:00)."""
    # A Friday-evening urgent case: 1 working day is Monday's close; 24 working hours to sign
    # are Monday to Wednesday.
    friday = local("2026-11-27 19:30")
    case = await store.register_case(AGENT, {"category": "complaint", "urgency": "urgent"},
                                     at=friday)  # fmt: skip
    case = await store.apply_action(case["id"], "dispatch", AGENT, {"unit": "住建局"}, 1,
                                    now=friday)  # fmt: skip
    assert case["due_at"] == utc("2026-11-30 17:00")
    assert case["sign_due_at"] == utc("2026-12-02 17:00")
    # Spring Festival 2026: the make-up Saturday 14 February counts, 15–23 February do not.
    case = await dispatched(store, local("2026-02-13 18:00"))  # help: 5 wd
    assert case["due_at"] == utc("2026-02-27 17:00")
    assert case["return_until"] == utc("2026-02-14 17:00")
    # A year the calendar does not know: weekends only, a warning, never a crash.
    with caplog.at_level(logging.WARNING, logger="working_days"):
        case = await dispatched(store, local("2099-01-02 10:00"), "consultation")  # Friday
    assert case["due_at"] == utc("2099-01-07 17:00")
    assert "no holiday data for 2099" in caplog.text


async def test_an_approved_extension_moves_the_deadline_a_denied_one_does_not(
    store: TicketStore,
) -> None:
    start = local("2026-11-23 10:00")  # a Monday
    case = await dispatched(store, start)
    due = case["due_at"]
    assert due == utc("2026-11-30 17:00")  # 5 wd
    case = await store.apply_action(case["id"], "sign", UNIT_STAFF, {}, 2, now=start)
    case = await store.apply_action(
        case["id"], "request_extension", UNIT_STAFF, {"reason": "r", "days": 2}, 3, now=start
    )
    case = await store.apply_action(case["id"], "deny_extension", BOSS, {"reason": "no"}, 4)
    assert (case["due_at"], case["extensions"]) == (due, 0)
    case = await store.apply_action(
        case["id"], "request_extension", UNIT_STAFF, {"reason": "r", "days": 3}, 5
    )
    case = await store.apply_action(case["id"], "approve_extension", BOSS, {}, 6)
    assert (case["due_at"], case["extensions"]) == (utc("2026-12-03 17:00"), 1)  # +3 wd
    # Beyond the rules: at most 5 wd each, at most twice.
    with pytest.raises(ForbiddenTransition, match="at most 5 working days"):
        await store.apply_action(
            case["id"], "request_extension", UNIT_STAFF, {"reason": "r", "days": 6}, 7
        )
    case = await store.apply_action(
        case["id"], "request_extension", UNIT_STAFF, {"reason": "r", "days": 5}, 7
    )
    case = await store.apply_action(case["id"], "approve_extension", BOSS, {}, 8)
    assert case["extensions"] == 2
    with pytest.raises(ForbiddenTransition, match="allow 2 extension"):
        await store.apply_action(
            case["id"], "request_extension", UNIT_STAFF, {"reason": "r", "days": 1}, 9
        )


async def test_a_rejected_return_keeps_the_timers_and_a_late_return_is_refused(
    store: TicketStore,
) -> None:
    start = local("2026-11-23 10:00")
    case = await dispatched(store, start)
    timers = {k: case[k] for k in ("due_at", "sign_due_at", "return_until")}
    case = await store.apply_action(
        case["id"], "return", UNIT_STAFF, {"reason": "不属本单位", "basis": "三定方案"}, 2,
        now=start + dt.timedelta(hours=2),
    )  # fmt: skip
    case = await store.apply_action(case["id"], "reject_return", BOSS, {"reason": "属于"}, 3)
    assert case["status"] == "signed"
    assert {k: case[k] for k in timers} == timers
    late = await dispatched(store, start)
    with pytest.raises(ForbiddenTransition, match="return window closed"):
        await store.apply_action(
            late["id"], "return", UNIT_STAFF, {"reason": "r", "basis": "b"}, 2,
            now=local("2026-11-24 17:01"),
        )  # fmt: skip


async def test_a_redo_gets_the_full_limit_again(store: TicketStore) -> None:
    case = await dispatched(store, local("2026-11-23 10:00"), "consultation")
    for action, actor, fields in [
        ("sign", UNIT_STAFF, {}),
        ("answer", UNIT_STAFF, {"answer": "a"}),
        ("call_back", AGENT, {"satisfaction": "dissatisfied"}),
    ]:
        case = await store.apply_action(case["id"], action, actor, fields, case["version"])
    case = await store.apply_action(
        case["id"], "redo", BOSS, {"reason": "不满意"}, case["version"],
        now=local("2026-11-27 15:00"),
    )  # fmt: skip
    assert case["due_at"] == utc("2026-12-02 17:00")  # 3 wd from Friday
