"""The desk's registration hands the case to the workflow in the same transaction: each
ending is the table's action by the agent (and what follows at once, by the system), and a
repeat call is the workflow's merge (并单) — one path with the JSON API's."""

from __future__ import annotations

import pytest

from ticketing.registrations import CallFacts, Registration, RegistrationError
from ticketing.store import TicketStore
from ticketing.workflow import Actor
from ticketing.workflow.cases import derive_state

CALLER = "13812345678"


async def _register(store: TicketStore, linkedid: str, ending: str, **more: str) -> dict:
    form = Registration(linkedid, "complaint", "噪音扰民 noise", ending, **more)  # type: ignore[arg-type]
    return await store.register_call(form, "wang", CallFacts(CALLER, "张三", 0))


@pytest.mark.parametrize(
    ("ending", "more", "status", "steps"),
    [
        ("dispatched", {}, "to_dispatch", ["submit"]),
        ("answered_directly", {}, "closed", ["answer_directly", "close"]),
        ("referred", {"referred_to": "12315"}, "closed", ["refer", "close"]),
        ("invalid", {"subject": "骚扰"}, "archived", ["mark_invalid", "archive"]),
    ],
)
async def test_each_ending_is_the_workflows_action(
    store: TicketStore, ending: str, more: dict[str, str], status: str, steps: list[str]
) -> None:
    result = await _register(store, f"call-{ending}", ending, **more)
    assert result["status"] == status
    history = await store.ticket_events_for(result["ticket"])
    assert [e["kind"] for e in history] == ["created", "registered", *steps]
    # The agent's decision is the agent's; what follows at once is the system's.
    assert [e["actor"] for e in history[2:]] == ["wang", *(["registration"] * (len(steps) - 1))]
    assert derive_state(history) == status
    case = await store.case_by_number(result["ticket"])
    assert case["status"] == status and case["version"] == 2 + len(steps)


async def test_a_repeat_call_is_merged_into_the_earlier_case(store: TicketStore) -> None:
    earlier = await _register(store, "first", "dispatched")
    again = await _register(store, "second", "dispatched", repeat_of=earlier["ticket"])
    assert (again["status"], again["merged_into"]) == ("merged", earlier["ticket"])
    merged = (await store.ticket_events_for(earlier["ticket"]))[-1]
    assert merged["kind"] == "merged" and merged["data"]["case"] == again["ticket"]
    assert merged["data"]["caller_num"] == CALLER


async def test_a_repeat_into_a_finished_case_is_refused_and_nothing_is_stored(
    store: TicketStore,
) -> None:
    earlier = await _register(store, "first", "invalid")  # archived
    with pytest.raises(RegistrationError) as refused:
        await _register(store, "second", "dispatched", repeat_of=earlier["ticket"])
    assert refused.value.field == "repeat_of" and "archived" in refused.value.message
    # The transaction rolled back: the call can still be registered, as a new case.
    fresh = await _register(store, "second", "dispatched")
    assert fresh["status"] == "to_dispatch"


async def test_a_supervisor_at_a_desk_may_register_to_be_dispatched(store: TicketStore) -> None:
    form = Registration("call-s", "help", "路灯不亮", "dispatched")
    result = await store.register_call(form, "zhao", CallFacts(CALLER, None, 0), role="supervisor")
    case = await store.case_by_number(result["ticket"])
    assert case["status"] == "to_dispatch"
    assert Actor("zhao", "supervisor").role == "supervisor"
