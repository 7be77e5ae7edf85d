"""The workflow in the store, on SQLite and PostgreSQL: every action an appended event,
the status derived in the same transaction, optimistic locking, a history nobody rewrites."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError

from hotline.ivr_build import ticket_progress_lookup
from tests.ticketing.conftest import make_record
from tests.ticketing.test_workflow_table import UNITS, valid_fields
from ticketing.store import TicketStore, ticket_events
from ticketing.workflow import (
    Actor,
    CaseNotFound,
    ForbiddenTransition,
    InvalidFields,
    VersionConflict,
    derive_state,
)
from ticketing.workflow.table import (
    TRANSITIONS,
    UNIT,
    CaseFacts,
    allowed_actions,
    step,
)

AGENT = Actor("li", "agent")
BOSS = Actor("zhao", "supervisor")
UNIT_STAFF = Actor("wang", "unit", UNITS[0])
T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
async def units(store: TicketStore) -> None:
    for unit in UNITS:
        await store.add_unit(unit)


async def call_case(store: TicketStore, caller: str = "13800138000") -> dict[str, Any]:
    """The ticket every call opens, as the desk finds it."""
    assert await store.save_calls([make_record(caller_num=caller)]) == 1
    [ticket] = await store.recent_tickets_for_caller(caller, days=3650)
    return await store.get_case(ticket["id"])


async def test_a_case_walks_its_whole_lifecycle_with_every_actor_in_its_history(
    store: TicketStore,
) -> None:
    case = await call_case(store)
    assert (case["status"], case["version"]) == ("registered", 1)
    script: list[tuple[str, Actor, dict[str, Any]]] = [
        ("dispatch", AGENT, {"unit": UNITS[0], "subject": "漏水", "content": "楼上漏水",
                             "category": "help", "co_units": [UNITS[1]]}),
        ("sign", UNIT_STAFF, {}),
        ("start", UNIT_STAFF, {}),
        ("request_extension", UNIT_STAFF, {"reason": "需要检测", "days": 3}),
        ("approve_extension", BOSS, {"reason": "同意"}),
        ("answer", UNIT_STAFF, {"answer": "已修复", "attachments": ["file:sha256:ab12"]}),
        ("call_back", AGENT, {"satisfaction": "dissatisfied", "reason": "又漏了"}),
        ("redo", BOSS, {"reason": "市民不满意"}),
        ("answer", UNIT_STAFF, {"answer": "彻底修复"}),
        ("call_back", AGENT, {"satisfaction": "satisfied", "process_satisfaction": "satisfied"}),
        ("archive", BOSS, {}),
    ]  # fmt: skip
    for n, (action, actor, fields) in enumerate(script):
        case = await store.apply_action(
            case["id"], action, actor, fields, case["version"], now=T0 + timedelta(hours=n)
        )
    assert (case["status"], case["version"]) == ("archived", 1 + len(script))
    assert (case["subject"], case["category"], case["handling_unit"]) == ("漏水", "help", UNITS[0])
    assert (case["first_unit"], case["co_units"], case["extensions"]) == (
        UNITS[0], [UNITS[1]], 1,
    )  # fmt: skip
    history = await store.case_history(case["id"])
    assert [(e["kind"], e["actor"]) for e in history] == [("created", "system")] + [
        (action, actor.name) for action, actor, _ in script
    ]
    assert derive_state(history) == case["status"]
    answered = history[6]
    assert answered["data"]["fields"]["attachments"] == ["file:sha256:ab12"]
    assert (answered["data"]["from"], answered["data"]["to"]) == ("in_progress", "answered")
    assert answered["data"]["unit"] == UNITS[0]


async def test_a_refused_action_changes_nothing(store: TicketStore) -> None:
    case = await call_case(store)
    before = await store.case_history(case["id"])
    refusals: list[tuple[str, Actor, dict[str, Any], type[Exception]]] = [
        ("sign", UNIT_STAFF, {}, ForbiddenTransition),
        ("dispatch", UNIT_STAFF, {"unit": UNITS[0]}, ForbiddenTransition),
        ("dispatch", AGENT, {}, InvalidFields),
        ("merge", AGENT, {"into": case["number"]}, InvalidFields),
        ("merge", AGENT, {"into": "12345-19990101-000001"}, InvalidFields),
    ]
    for action, actor, fields, error in refusals:
        with pytest.raises(error):
            await store.apply_action(case["id"], action, actor, fields, case["version"])
    assert await store.get_case(case["id"]) == case
    assert await store.case_history(case["id"]) == before
    with pytest.raises(CaseNotFound):
        await store.apply_action(999_999, "dispatch", AGENT, {"unit": "x"}, 1)


async def test_a_stale_version_is_refused(store: TicketStore) -> None:
    case = await call_case(store)
    await store.apply_action(case["id"], "dispatch", AGENT, {"unit": UNITS[0]}, 1)
    with pytest.raises(VersionConflict, match="at version 2, not 1"):
        await store.apply_action(case["id"], "mark_invalid", BOSS, {"reason": "dup"}, 1)
    assert (await store.get_case(case["id"]))["status"] == "dispatched"


async def test_two_people_acting_at_once_one_wins(store: TicketStore) -> None:
    case = await call_case(store)
    outcomes = await asyncio.gather(
        store.apply_action(case["id"], "dispatch", AGENT, {"unit": UNITS[0]}, 1),
        store.apply_action(case["id"], "mark_invalid", BOSS, {"reason": "骚扰"}, 1),
        store.apply_action(case["id"], "refer", AGENT, {"referred_to": "12315"}, 1),
        return_exceptions=True,
    )
    winners = [o for o in outcomes if isinstance(o, dict)]
    assert len(winners) == 1
    assert all(isinstance(o, VersionConflict) for o in outcomes if not isinstance(o, dict))
    after = await store.get_case(case["id"])
    assert (after["status"], after["version"]) == (winners[0]["status"], 2)
    assert len(await store.case_history(case["id"])) == 2


async def test_the_database_refuses_to_rewrite_history(store: TicketStore) -> None:
    case = await call_case(store)
    await store.apply_action(case["id"], "mark_invalid", AGENT, {"reason": "骚扰"}, 1)
    for statement in (
        update(ticket_events).values(actor="nobody"),
        delete(ticket_events),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with store.engine.begin() as connection:
                await connection.execute(statement)
    assert [e["actor"] for e in await store.case_history(case["id"])] == ["system", "li"]


async def test_a_merged_case_keeps_its_caller_on_the_open_case(store: TicketStore) -> None:
    first = await call_case(store, "13800000001")
    second = await call_case(store, "13800000002")
    merged = await store.apply_action(
        second["id"], "merge", AGENT, {"into": first["number"], "reason": "同一漏水"}, 1
    )
    assert (merged["status"], merged["merged_into_case"]) == ("merged", first["number"])
    [_created, joined] = await store.case_history(first["id"])
    assert joined["kind"] == "merged"
    assert (joined["data"]["case"], joined["data"]["caller_num"]) == (
        second["number"], "13800000002",
    )  # fmt: skip
    # A finished case takes no more merges.
    await store.apply_action(first["id"], "mark_invalid", AGENT, {"reason": "x"}, 1)
    await store.apply_action(first["id"], "archive", BOSS, {}, 2)
    third = await call_case(store, "13800000003")
    with pytest.raises(InvalidFields, match="archived"):
        await store.apply_action(third["id"], "merge", AGENT, {"into": first["number"]}, 1)


async def test_a_case_no_call_opened(store: TicketStore) -> None:
    case = await store.register_case(
        AGENT, {"category": "complaint", "subject": "噪音", "caller_number": "13900000000"}, at=T0
    )
    assert (case["status"], case["version"], case["category"]) == ("registered", 1, "complaint")
    assert case["number"].startswith("12345-20261202-")
    assert (await store.case_by_number(case["number"]))["id"] == case["id"]
    [created] = await store.case_history(case["id"])
    assert (created["kind"], created["actor"]) == ("created", "li")
    with pytest.raises(InvalidFields, match="category"):
        await store.register_case(AGENT, {"category": "gossip"})
    with pytest.raises(InvalidFields, match="unknown"):
        await store.register_case(AGENT, {"password": "x"})


async def test_a_random_walk_matches_the_pure_table(store: TicketStore) -> None:
    """The store and the pure rules agree, action by action, refusals included."""
    rng = random.Random(11)
    case = await call_case(store)
    facts = CaseFacts()
    for _ in range(60):
        possible = allowed_actions(facts.status)
        if not possible:
            break
        if rng.random() < 0.3:  # a forbidden one: a role the cell does not allow
            action = rng.choice(possible)
            transition = TRANSITIONS[(facts.status, action)]
            outsiders = sorted({"agent", "supervisor", "unit", "system"} - transition.roles)
            if outsiders:
                role = rng.choice(outsiders)
                actor = Actor("x", role, facts.handling_unit if role == UNIT else None)
                with pytest.raises(ForbiddenTransition):
                    await store.apply_action(
                        case["id"], action, actor, valid_fields(transition), case["version"]
                    )
                continue
        action = rng.choice(possible)
        transition = TRANSITIONS[(facts.status, action)]
        role = rng.choice(sorted(transition.roles))
        actor = Actor("x", role, facts.handling_unit if role == UNIT else None)
        fields = valid_fields(transition)
        if action == "merge":
            continue  # needs a second case; covered above
        if action == "call_back":
            fields["satisfaction"] = rng.choice(["satisfied", "dissatisfied"])
        try:
            expected = step(facts, action, actor, fields).after
        except ForbiddenTransition:
            with pytest.raises(ForbiddenTransition):
                await store.apply_action(case["id"], action, actor, fields, case["version"])
            continue
        try:
            case = await store.apply_action(case["id"], action, actor, fields, case["version"])
        except ForbiddenTransition as refused:
            # Beyond the pure table, the store's deadline rules limit extensions.
            assert action in ("request_extension", "approve_extension"), refused
            assert "rules allow" in str(refused)
            continue
        facts = expected
        assert case["status"] == facts.status
        assert case["handling_unit"] == facts.handling_unit
    assert derive_state(await store.case_history(case["id"])) == case["status"]


async def test_the_ivr_tells_an_internal_step_as_the_public_status(store: TicketStore) -> None:
    case = await call_case(store, "13812345678")
    for action, actor, fields in [
        ("dispatch", AGENT, {"unit": UNITS[0]}),
        ("sign", UNIT_STAFF, {}),
        ("request_extension", UNIT_STAFF, {"reason": "r", "days": 2}),
    ]:
        case = await store.apply_action(case["id"], action, actor, fields, case["version"])
    assert case["status"] == "extension_requested"
    lookup = ticket_progress_lookup(store)
    digits = case["number"].replace("-", "")[-8:]
    assert await lookup(digits, "13812345678") == ["hotline/ticket-status-in-progress"]


async def test_the_ivr_reads_the_callers_latest_case_when_no_number_is_keyed(
    store: TicketStore,
) -> None:
    caller = "13812340000"
    assert await store.save_calls([make_record(caller_num=caller)]) == 1
    assert await store.save_calls([make_record(caller_num=caller)]) == 1
    latest, older = await store.recent_tickets_for_caller(caller, days=3650)
    assert latest["created_at"] > older["created_at"]
    await store.apply_action(older["id"], "dispatch", AGENT, {"unit": UNITS[0]}, 1)
    lookup = ticket_progress_lookup(store)
    assert await lookup("", caller) == ["hotline/ticket-status-registered"]
    await store.apply_action(latest["id"], "dispatch", AGENT, {"unit": UNITS[1]}, 1)
    assert await lookup("", caller) == ["hotline/ticket-status-dispatched"]
    assert await lookup("", "") is None  # no caller ID: nothing to tell
    assert await lookup("12", caller) is None  # too few digits to be a number


async def test_a_leaders_instruction_is_kept_on_the_case_by_a_supervisor_only(
    store: TicketStore,
) -> None:
    """批示: a leader's instruction (with an attachment by reference) is in the case's history
    with its actor; the case's state does not move; nobody else may give one."""
    case = await call_case(store, "13812349999")
    case = await store.apply_action(case["id"], "dispatch", AGENT, {"unit": UNITS[0]}, 1)
    for actor in (AGENT, UNIT_STAFF):
        with pytest.raises(ForbiddenTransition, match="may not"):
            await store.apply_action(
                case["id"], "instruct", actor, {"instruction": "x"}, case["version"]
            )
    fields = {"instruction": "请住建局三日内回复市民", "attachments": ["file:abc123"]}
    after = await store.apply_action(case["id"], "instruct", BOSS, fields, case["version"])
    assert (after["status"], after["version"]) == ("dispatched", case["version"] + 1)
    last = (await store.case_history(case["id"]))[-1]
    assert (last["kind"], last["actor"]) == ("instruct", "zhao")
    assert last["data"]["fields"] == fields
