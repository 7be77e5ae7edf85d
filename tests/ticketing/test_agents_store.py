"""Agents, skills, state history and the call-back list in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from ticketing import users
from ticketing.agents import AgentDirectory
from ticketing.callbacks import CallbackError, CallbackList
from ticketing.store import TicketStore


async def _user(store: TicketStore, username: str, role: str = "agent") -> None:
    async with store.engine.begin() as connection:
        await users.insert_user(connection, username, username, role, "x", None)


async def test_agent_tied_to_a_user_with_skills(store: TicketStore) -> None:
    await _user(store, "li")
    await _user(store, "boss", "supervisor")
    directory = AgentDirectory(store.engine)
    agent = await directory.set_agent(
        "li", extension="1001", name="李 1001", skills={"hotline-general": 0, "hotline-report": 2}
    )
    assert agent["interface"] == "PJSIP/1001"
    assert agent["skills"] == [
        {"queue": "hotline-general", "penalty": 0},
        {"queue": "hotline-report", "penalty": 2},
    ]
    assert (await directory.for_user("li")) == agent
    # Changing the phone keeps the skills unless new ones are given.
    again = await directory.set_agent("li", extension="1002", name="李")
    assert again["extension"] == "1002" and again["skills"] == agent["skills"]
    assert await directory.for_user("boss") is None
    with pytest.raises(ValueError, match="not agent"):
        await directory.set_agent("boss", extension="1003", name="x")
    await _user(store, "wang")
    with pytest.raises(ValueError, match="another agent"):
        await directory.set_agent("wang", extension="1002", name="王")
    with pytest.raises(ValueError, match="penalty"):
        await directory.set_agent("wang", extension="1004", name="王", skills={"q": -1})


async def test_time_in_states_sums_spans(store: TicketStore) -> None:
    await _user(store, "li")
    directory = AgentDirectory(store.engine)
    agent = await directory.set_agent("li", extension="1001", name="李")
    t0 = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    await directory.log_states(
        [
            (agent["id"], t0 - timedelta(hours=1), "ready", None),
            (agent["id"], t0 + timedelta(seconds=60), "paused", "用餐"),
            (agent["id"], t0 + timedelta(seconds=660), "ready", None),
        ]
    )
    totals = await directory.time_in_states(agent["id"], t0, t0 + timedelta(seconds=1000))
    assert totals == {("ready", None): 400.0, ("paused", "用餐"): 600.0}


def _entry(linkedid: str, kind: str = "abandoned", minutes_ago: int = 5) -> dict[str, object]:
    return {
        "kind": kind,
        "pbx": "pbx1",
        "linkedid": linkedid,
        "uniqueid": linkedid + "1",
        "caller_num": "13800138000",
        "caller_name": "张三",
        "queue": "hotline-general",
        "message_path": None,
        "called_at": datetime.now(UTC) - timedelta(minutes=minutes_ago),
    }


async def test_callback_list_claim_is_atomic_and_attempts_are_logged(store: TicketStore) -> None:
    work = CallbackList(store.engine)
    assert await work.add([_entry("a", minutes_ago=30), _entry("b")]) == 2
    assert await work.add([_entry("a")]) == 0  # idempotent
    listed = await work.pending()
    assert (listed["open"], listed["claimed"]) == (2, 0)
    assert [i["linkedid"] for i in listed["items"]] == ["a", "b"]
    assert listed["oldest_age_s"] >= 30 * 60
    first = listed["items"][0]["id"]
    # Ten agents claim the same entry at once: exactly one gets it.
    outcomes = await asyncio.gather(
        *(work.claim(first, f"agent{n}") for n in range(10)), return_exceptions=True
    )
    winners = [o for o in outcomes if isinstance(o, dict)]
    assert len(winners) == 1
    assert all(
        isinstance(o, CallbackError) and o.kind == "taken" for o in outcomes if o not in winners
    )
    holder = winners[0]["claimed_by"]
    with pytest.raises(CallbackError):
        await work.log_attempt(first, "somebody-else", "reached")
    await work.log_attempt(first, holder, "placed", "agent answered")
    await work.log_attempt(first, holder, "no_answer")
    still = await work.get(first)
    assert (still["status"], still["attempts"], still["result"]) == ("claimed", 1, "no_answer")
    done = await work.log_attempt(first, holder, "reached", "市民已知悉")
    assert done["status"] == "done"
    assert [a["result"] for a in done["attempt_log"]] == ["placed", "no_answer", "reached"]
    assert (await work.pending())["open"] == 1
    with pytest.raises(CallbackError) as refused:
        await work.claim(first, holder)
    assert refused.value.kind == "taken"
    with pytest.raises(CallbackError) as missing:
        await work.claim(99999, holder)
    assert missing.value.kind == "not_found"


async def test_a_citizen_served_later_needs_no_call_back(store: TicketStore) -> None:
    work = CallbackList(store.engine)
    await work.add(
        [
            {**_entry("missed", minutes_ago=30), "caller_num": "13700137000"},
            {**_entry("asked", "callback_request", 20), "caller_num": "13700137000"},
            {**_entry("other", minutes_ago=10)},
            {**_entry("later", minutes_ago=1), "caller_num": "13700137000"},
        ]
    )
    served_at = datetime.now(UTC) - timedelta(minutes=5)
    assert await work.close_served("13700137000", served_at, "answered on call x") == 1
    left = {i["linkedid"]: i["status"] for i in (await work.pending())["items"]}
    # The request and the survey stay; a missed call after the answered one stays too.
    assert left == {"asked": "open", "other": "open", "later": "open"}


async def test_served_index_closes_what_the_store_would_and_skips_the_rest(
    store: TicketStore,
) -> None:
    """With the index of unserved numbers loaded, close_served closes exactly what it closes
    without it: entries stored before the load, entries added after, a claimed entry once it
    is released; numbers with nothing to close never reach the store."""
    earlier = CallbackList(store.engine)
    await earlier.add([{**_entry("before-start", minutes_ago=40), "caller_num": "13700000001"}])
    work = CallbackList(store.engine)
    await work.load_unserved()
    await work.add(
        [
            {**_entry("after-start", minutes_ago=30), "caller_num": "13700000002"},
            {**_entry("held", "timeout", 30), "caller_num": "13700000003"},
            {**_entry("asked", "callback_request", 30), "caller_num": "13700000004"},
        ]
    )
    served_at = datetime.now(UTC) - timedelta(minutes=5)
    assert await work.close_served("13700000001", served_at, "answered") == 1
    assert await work.close_served("13700000002", served_at, "answered") == 1
    assert await work.close_served("13700000004", served_at, "answered") == 0  # asked for it
    assert await work.close_served("13999999999", served_at, "answered") == 0
    # Claimed while the citizen calls again: it stays; released, the next answered call
    # closes it, as without the index.
    held = next(i for i in (await work.pending())["items"] if i["linkedid"] == "held")
    await work.claim(held["id"], "li")
    assert await work.close_served("13700000003", served_at, "answered") == 0
    await work.release(held["id"], "li")
    assert await work.close_served("13700000003", served_at, "answered") == 1
    left = {i["linkedid"]: i["status"] for i in (await work.pending())["items"]}
    assert left == {"asked": "open"}
