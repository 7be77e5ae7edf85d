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


async def test_unreachable_waits_for_a_supervisor(store: TicketStore) -> None:
    case = await answered_case(store)
    case = await store.record_call_back(case["id"], AGENT, "agent", "unreachable", None)
    assert case["status"] == "callback"
    with pytest.raises(InvalidFields, match="source"):
        await store.record_call_back(case["id"], AGENT, "pigeon", "satisfied", None)
