"""Screen pops on the desk's own WebSocket: only the ringing agent's desk gets one, with the
caller's recent tickets and incidents, and a desk opened while the phone rings gets it too."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from hotline.web.app import SCREEN_POPS, create_app
from hotline.web.desk_pop import matching_incidents, priority_reason, shown_to
from hotline.web.desk_push import StaticLookup
from tests.web.auth_helpers import bearer
from tests.web.desk_helpers import (
    CALLER,
    abandoned,
    answered,
    desk_socket,
    next_message,
    now,
    queued,
    ring_no_answer,
    ringing,
)
from tests.web.fake_live import FakeLive
from ticketing.registrations import CallFacts, Registration
from ticketing.store import TicketStore

Client = TestClient[Any, Any]
AGENTS = StaticLookup({"PJSIP/1001": "wang", "PJSIP/1002": "li"})


async def served(aiohttp_client: Any, store: TicketStore) -> tuple[Client, Any]:
    app = create_app(FakeLive(), dict, store=store, desk_agents=AGENTS)
    client = await aiohttp_client(app)
    return client, app[SCREEN_POPS]


async def earlier_ticket(store: TicketStore) -> str:
    form = Registration("old-1", "complaint", "路灯不亮 street light out", "dispatched")
    result = await store.register_call(form, "zhao", CallFacts(CALLER, "张三", 0))
    return str(result["ticket"])


async def test_only_the_ringing_agents_desk_gets_the_pop_with_history(
    aiohttp_client: Any, store: TicketStore
) -> None:
    number = await earlier_ticket(store)
    await store.save_incident(
        {"id": "water-1", "title": "停水 water cut", "text": "东区停水", "prompt": "p",
         "start": "2026-01-01T00:00:00+08:00", "branch": "complaint"}
    )  # fmt: skip
    client, pops = await served(aiohttp_client, store)
    wang = await desk_socket(client, await bearer(store, "wang", "agent"))
    li = await desk_socket(client, await bearer(store, "li", "agent"))
    at = now()
    await pops.on_event(*queued("call-1", at - 9))
    await pops.on_event(*ringing("call-1", at, "1001"))

    first = (await next_message(wang, "pop"))["pop"]
    assert first["linkedid"] == "call-1" and first["state"] == "ringing"
    assert first["number"] == CALLER and first["name"] == "张三"
    assert first["queue"] == "hotline-complaint" and first["wait_s"] == 9
    assert first["ivr_path"] == ["welcome", "main", "complaint"]
    assert first["priority"] == 5 and "menu choice 2 / complaint" in first["priority_reason"]
    full = (await next_message(wang, "pop"))["pop"]
    assert [ticket["number"] for ticket in full["history"]["tickets"]] == [number]
    assert full["history"]["tickets"][0]["status"] == "registered"
    assert [incident["id"] for incident in full["history"]["incidents"]] == ["water-1"]

    # li's phone rings next: li's first pop is li's own call, never wang's.
    await pops.on_event(*ringing("call-2", at, "1002", caller="13900139002"))
    mine = (await next_message(li, "pop"))["pop"]
    assert mine["linkedid"] == "call-2"
    await pops.drain()
    assert pops.pop_for("wang")["linkedid"] == "call-1"  # type: ignore[index]


async def test_a_desk_opened_while_the_phone_rings_gets_the_pop(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client, pops = await served(aiohttp_client, store)
    headers = await bearer(store, "wang", "agent")
    await pops.on_event(*ringing("call-3", now(), "1001"))
    await pops.drain()
    ws = await desk_socket(client, headers)
    pop = (await next_message(ws, "pop"))["pop"]
    assert pop["linkedid"] == "call-3" and pop["history"] is not None
    response = await client.get("/api/desk/pop", headers=headers)
    assert (await response.json())["pop"]["linkedid"] == "call-3"


async def test_the_pop_follows_the_call(aiohttp_client: Any, store: TicketStore) -> None:
    client, pops = await served(aiohttp_client, store)
    wang = await desk_socket(client, await bearer(store, "wang", "agent"))
    at = now()
    await pops.on_event(*ringing("a", at, "1001"))
    await pops.on_event(*ring_no_answer("a", at + 15, "1001"))
    assert (await next_message(wang, "pop.clear"))["why"] == "ring_no_answer"
    await pops.on_event(*ringing("b", at + 20, "1001"))
    await pops.on_event(*abandoned("b", at + 21))
    cleared = await next_message(wang, "pop.clear")
    assert cleared == {"type": "pop.clear", "linkedid": "b", "why": "abandoned"}
    await pops.on_event(*ringing("c", at + 30, "1001"))
    await pops.on_event(*ringing("c", at + 30, "1002"))
    await pops.on_event(*answered("c", at + 33, "1001"))
    await pops.drain()
    assert pops.pop_for("wang")["state"] == "answered"  # type: ignore[index]
    assert pops.pop_for("li") is None  # ringall: wang took it


def test_numbers_are_masked_for_roles_that_do_not_take_calls() -> None:
    pop = {"number": CALLER, "linkedid": "x"}
    assert shown_to(pop, "agent")["number"] == CALLER
    assert shown_to(pop, "auditor")["number"] == "138****8001"
    assert shown_to(pop, "unit")["number"] == "138****8001"


def test_priority_reasons() -> None:
    assert priority_reason(0, "1", {}) == "普通 normal"
    assert "emergency-110" in priority_reason(9, "emergency-110", {})
    assert "degraded" in priority_reason(2, "fallback", {})


def test_incidents_match_by_area_or_branch() -> None:
    base = {"title": "t", "text": "x", "prompt": "p", "start": "2026-01-01T00:00:00+08:00"}
    incidents = [
        {**base, "id": "area", "prefixes": ["138"]},
        {**base, "id": "elsewhere", "prefixes": ["139"]},
        {**base, "id": "branch", "branch": "complaint"},
        {**base, "id": "other-branch", "branch": "consult"},
        {**base, "id": "everyone"},
        {**base, "id": "ended", "status": "ended"},
        {"id": "broken"},
    ]
    found = matching_incidents(incidents, CALLER, ["welcome", "complaint"])
    assert [item["id"] for item in found] == ["area", "branch", "everyone"]
