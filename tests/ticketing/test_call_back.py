"""Call-back for satisfaction (回访): the task list, outcomes from the survey, an agent or a
text reply, and what follows: archived when satisfied, redone when dissatisfied."""

from __future__ import annotations

from typing import Any

import pytest

from ticketing.store import TicketStore
from ticketing.workflow import Actor, InvalidFields
from ticketing.workflow.callback import satisfaction_from_text

AGENT = Actor("li", "agent")
UNIT_STAFF = Actor("wang", "unit", "住建局")


@pytest.fixture(autouse=True)
async def units(store: TicketStore) -> None:
    await store.add_unit("住建局")


async def answered_case(store: TicketStore) -> dict[str, Any]:
    case = await store.register_case(AGENT, {"category": "help"})
    for action, actor, fields in [
        ("dispatch", AGENT, {"unit": "住建局"}),
        ("sign", UNIT_STAFF, {}),
        ("answer", UNIT_STAFF, {"answer": "已处理"}),
    ]:
        case = await store.apply_action(case["id"], action, actor, fields, case["version"])
    return case


async def test_every_answered_case_is_a_call_back_task_until_called_back(
    store: TicketStore,
) -> None:
    first = await answered_case(store)
    second = await answered_case(store)
    assert [c["id"] for c in await store.call_back_tasks()] == [first["id"], second["id"]]
    done = await store.record_call_back(
        first["id"], AGENT, "agent", "satisfied", first["version"],
        process_satisfaction="basically_satisfied",
    )  # fmt: skip
    assert (done["status"], done["last_satisfaction"]) == ("archived", "satisfied")
    assert [c["id"] for c in await store.call_back_tasks()] == [second["id"]]


async def test_dissatisfied_is_redone_and_the_second_answer_is_called_back_again(
    store: TicketStore,
) -> None:
    case = await answered_case(store)
    survey = Actor("ivr-survey", "system")
    case = await store.record_call_back(case["id"], survey, "survey", "dissatisfied", None)
    assert (case["status"], case["handling_unit"]) == ("redo", "住建局")
    case = await store.apply_action(case["id"], "answer", UNIT_STAFF, {"answer": "重新处理"},
                                    case["version"])  # fmt: skip
    reply = satisfaction_from_text(" 满意。")
    case = await store.record_call_back(case["id"], AGENT, "text", reply, case["version"])
    assert case["status"] == "archived"
    kinds = [(e["kind"], e["actor"]) for e in await store.case_history(case["id"])][-5:]
    assert kinds == [("call_back", "ivr-survey"), ("redo", "callback"), ("answer", "wang"),
                     ("call_back", "li"), ("archive", "callback")]  # fmt: skip


def test_text_replies() -> None:
    assert [satisfaction_from_text(t) for t in ("1", "2", "3", "基本满意", "不满意!")] == [
        "satisfied", "basically_satisfied", "dissatisfied", "basically_satisfied",
        "dissatisfied",
    ]  # fmt: skip
    with pytest.raises(InvalidFields, match="1 满意"):
        satisfaction_from_text("还行吧")


async def test_unreachable_after_n_attempts_waits_for_a_supervisor(store: TicketStore) -> None:
    case = await answered_case(store)
    # The store's default: 3 attempts (cases.call_back_attempts). The first two are kept in
    # the history and the case stays a call-back task.
    for attempt in (1, 2):
        case = await store.record_call_back(case["id"], AGENT, "agent", "unreachable", None)
        assert case["status"] == "answered"
        assert case["event"]["data"]["fields"]["reason"].startswith(
            f"unreachable, attempt {attempt}"
        )
        assert [c["id"] for c in await store.call_back_tasks()] == [case["id"]]
    case = await store.record_call_back(case["id"], AGENT, "agent", "unreachable", None)
    assert (case["status"], case["last_satisfaction"]) == ("callback", "unreachable")
    assert await store.call_back_tasks() == []
    # Not archived by itself: a supervisor decides.
    boss = Actor("zhao", "supervisor")
    case = await store.apply_action(case["id"], "archive", boss, {}, case["version"])
    assert case["status"] == "archived"
    with pytest.raises(InvalidFields, match="source"):
        await store.record_call_back(case["id"], AGENT, "pigeon", "satisfied", None)


async def test_the_post_call_survey_is_the_call_back_of_a_direct_answer(
    store: TicketStore,
) -> None:
    from datetime import UTC, datetime

    from ticketing.registrations import CallFacts, Registration

    # Rated after the registration: the survey calls the closed case back and archives it.
    form = Registration("call-1", "consultation", "社保怎么交", "answered_directly")
    first = await store.register_call(form, "li", CallFacts("13800000001", None, 0))
    assert first["status"] == "closed"
    assert await store.record_survey("call-1", "satisfied", datetime.now(UTC), "1")
    case = await store.case_by_number(first["ticket"])
    assert (case["status"], case["last_satisfaction"]) == ("archived", "satisfied")
    kinds = [(e["kind"], e["actor"]) for e in await store.case_history(case["id"])][-3:]
    assert kinds == [("survey", "ivr"), ("call_back", "ivr-survey"),
                     ("archive", "callback")]  # fmt: skip

    # Rated before the registration: the registration finds the rating. Dissatisfied with a
    # direct answer: no unit to redo it, the case waits for a supervisor.
    assert await store.record_survey("call-2", "dissatisfied", datetime.now(UTC), "3")
    form = Registration("call-2", "consultation", "社保怎么交", "answered_directly")
    second = await store.register_call(form, "li", CallFacts("13800000002", None, 0))
    case = await store.case_by_number(second["ticket"])
    assert (second["status"], case["last_satisfaction"]) == ("callback", "dissatisfied")

    # A direct answer nobody rated yet is a call-back task too.
    form = Registration("call-4", "consultation", "公积金", "answered_directly")
    fourth = await store.register_call(form, "li", CallFacts("13800000004", None, 0))
    tasks = [c["number"] for c in await store.call_back_tasks()]
    assert fourth["ticket"] in tasks and first["ticket"] not in tasks

    # A call whose case is not answered yet: the survey rates the call only.
    form = Registration("call-3", "help", "路灯坏了", "dispatched")
    third = await store.register_call(form, "li", CallFacts("13800000003", None, 0))
    assert await store.record_survey("call-3", "satisfied", datetime.now(UTC), "1")
    assert (await store.case_by_number(third["ticket"]))["status"] == "to_dispatch"
