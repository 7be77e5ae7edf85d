"""The call-back list fed from ``call.ended`` (AgentDesk.on_call_ended): the entries heard
while the store works are added together, yet in the order heard — a served call closes the
missed call heard just before it — and nothing heard is lost at shutdown (flush_callbacks).
SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from acd.agents.actions import MemberActions
from acd.agents.board import AgentBoard
from events.topics import CALL_ENDED
from hotline.agent_desk import AgentDesk
from hotline.settings import AgentsSettings
from ticketing.callbacks import CallbackList
from ticketing.store import TicketStore

T0 = 1_795_428_000.0
_serial = itertools.count(1)


def ended(outcome: str, caller: str, at: float, **more: Any) -> dict[str, Any]:
    """The call.ended fields the call-back list reads."""
    n = next(_serial)
    return {
        "linkedid": f"{at:.0f}.{n}",
        "uniqueid": f"{at:.0f}.{n}",
        "pbx": "pbx1",
        "caller_num": caller,
        "caller_name": None,
        "queue": "hotline-general",
        "outcome": outcome,
        "callback_requested": False,
        "started_at": at - 5,
        "queue_entered_at": at,
        "answered_at": at + 3 if outcome == "answered" else None,
        "ended_at": at + 30,
        **more,
    }


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[TicketStore]:
    opened = await TicketStore.open(db_url)
    try:
        yield opened
    finally:
        await opened.close()


async def desk_on(store: TicketStore) -> AgentDesk:
    desk = AgentDesk(
        AgentsSettings(),
        store=store,
        boards={"pbx1": AgentBoard()},
        actions={"pbx1": MemberActions(lambda: None)},
        timezone="Asia/Shanghai",
        recordings_dir="/tmp",
    )
    await desk.load()
    return desk


async def listed(store: TicketStore) -> dict[str, tuple[str, str, str | None]]:
    since = datetime(1970, 1, 2, tzinfo=UTC)
    items = (await CallbackList(store.engine).overview(done_since=since))["items"]
    return {i["linkedid"]: (i["kind"], i["status"], i["result"]) for i in items}


async def test_calls_heard_at_once_are_listed_in_order(store: TicketStore) -> None:
    desk = await desk_on(store)
    calls = [
        ended("abandoned", "13800000001", T0),  # served by the answered call below: done
        ended("abandoned", "13800000002", T0 + 1),  # stays open
        ended("timeout", "13800000003", T0 + 2),
        ended("answered", "13800000001", T0 + 60),
        ended("timeout", "13800000003", T0 + 61, callback_requested=True),  # asked: stays
        ended("abandoned", "13800000001", T0 + 120),  # missed again after being served
        ended("answered", "13800000004", T0 + 121),  # nothing of theirs to close
        ended("abandoned", "", T0 + 122),  # anonymous: cannot be called back
    ]
    # As the bus hands them over, one after the other, none waiting for the store.
    for payload in calls:
        await desk.on_call_ended(CALL_ENDED, payload)
    await desk.flush_callbacks()
    ids = [c["linkedid"] for c in calls]
    assert await listed(store) == {
        ids[0]: ("abandoned", "done", "not_needed"),
        ids[1]: ("abandoned", "open", None),
        ids[2]: ("timeout", "open", None),
        ids[4]: ("callback_request", "open", None),
        ids[5]: ("abandoned", "open", None),
    }
    # The same as one call at a time, each stored before the next is heard.
    other = await desk_on(store)
    again = [ended("abandoned", "13900000001", T0), ended("answered", "13900000001", T0 + 9)]
    for payload in again:
        await other.on_call_ended(CALL_ENDED, payload)
        await other.flush_callbacks()
    assert (await listed(store))[again[0]["linkedid"]] == ("abandoned", "done", "not_needed")


async def test_missed_calls_heard_between_other_callers_answered_calls_go_in_one_batch(
    store: TicketStore,
) -> None:
    desk = await desk_on(store)
    batches: list[int] = []
    add = desk.callbacks.add

    async def counted(entries: Any) -> int:
        batches.append(len(entries))
        return await add(entries)

    desk.callbacks.add = counted  # type: ignore[method-assign]
    calls = []
    for n in range(3):
        calls.append(ended("abandoned", f"1380000010{n}", T0 + n))
        calls.append(ended("answered", f"1390000010{n}", T0 + n))  # another caller's
    calls.append(ended("answered", "13800000101", T0 + 60))  # serves the second missed call
    for payload in calls:
        await desk.on_call_ended(CALL_ENDED, payload)
    await desk.flush_callbacks()
    assert batches == [3]
    assert {k: v[1] for k, v in (await listed(store)).items()} == {
        calls[0]["linkedid"]: "open",
        calls[2]["linkedid"]: "done",
        calls[4]["linkedid"]: "open",
    }


async def test_one_refused_entry_does_not_cost_the_others_theirs(store: TicketStore) -> None:
    desk = await desk_on(store)
    entries = [desk.callback_entry(ended("abandoned", f"1380000000{n}", T0 + n)) for n in (1, 2)]
    first, last = [e for e in entries if e is not None]
    refused = {**first, "linkedid": "refused", "kind": "no-such-kind"}
    # A batch holding an entry the store refuses: the others are still added, one by one.
    await desk._add_callbacks([first, refused, last])
    assert set(await listed(store)) == {first["linkedid"], last["linkedid"]}
