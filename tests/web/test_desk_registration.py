"""The registration form (登记): field errors with ids, drafts kept server-side, the form on
the call's ticket, a repeat call added to the caller's earlier ticket."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from hotline.web.app import SCREEN_POPS, create_app
from hotline.web.desk_push import StaticLookup
from tests.ticketing.conftest import make_record
from tests.web.auth_helpers import bearer
from tests.web.desk_helpers import CALLER, answered, now, ringing
from tests.web.fake_live import FakeLive
from ticketing.agents import AgentDirectory
from ticketing.store import TicketStore

Client = TestClient[Any, Any]

FORM = {
    "category": "complaint",
    "district": "玄武区",
    "address": "中山路1号",
    "content": "噪音扰民 noise at night",
    "reply_wanted": True,
    "anonymous": False,
    "ending": "dispatched",
}


async def ringing_desk(
    aiohttp_client: Any, store: TicketStore, linkedid: str
) -> tuple[Client, dict[str, str]]:
    app = create_app(
        FakeLive(), dict, store=store, desk_agents=StaticLookup({"PJSIP/1001": "wang"})
    )
    client = await aiohttp_client(app)
    headers = await bearer(store, "wang", "agent")
    await app[SCREEN_POPS].on_event(*ringing(linkedid, now(), "1001"))
    await app[SCREEN_POPS].on_event(*answered(linkedid, now(), "1001"))  # wang took it
    await app[SCREEN_POPS].drain()
    return client, headers


async def test_a_call_is_registered_on_its_ticket(aiohttp_client: Any, store: TicketStore) -> None:
    client, headers = await ringing_desk(aiohttp_client, store, "call-1")
    response = await client.post(
        "/api/desk/registrations", json={**FORM, "linkedid": "call-1"}, headers=headers
    )
    assert response.status == 201, await response.text()
    result = await response.json()
    ticket = await store.ticket(result["ticket"])
    assert ticket is not None
    assert ticket["linkedid"] == "call-1" and ticket["caller_number"] == CALLER
    assert (ticket["category"], ticket["district"], ticket["address"]) == (
        "complaint", "玄武区", "中山路1号",
    )  # fmt: skip
    assert ticket["content"] == "噪音扰民 noise at night"
    assert ticket["reply_wanted"] is True and ticket["anonymous"] is False
    # "To be dispatched" hands the case to the workflow: it awaits the dispatcher.
    assert ticket["ending"] == "dispatched" and ticket["status"] == "to_dispatch"
    assert ticket["registered_by"] == "wang" and ticket["urgency"] == "urgent"
    kinds = [event["kind"] for event in await store.ticket_events_for(result["ticket"])]
    assert kinds == ["created", "registered", "submit"]
    # Registered: the pop is done, and the call cannot be registered twice.
    pop = await client.get("/api/desk/pop", headers=headers)
    assert (await pop.json())["pop"] is None
    again = await client.post(
        "/api/desk/registrations", json={**FORM, "linkedid": "call-1"}, headers=headers
    )
    assert again.status == 409
    assert (await again.json())["error"]["id"] == "registration.already_registered"


async def test_a_repeat_call_is_added_to_the_earlier_ticket(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client, headers = await ringing_desk(aiohttp_client, store, "first")
    first = await client.post(
        "/api/desk/registrations", json={**FORM, "linkedid": "first"}, headers=headers
    )
    earlier = (await first.json())["ticket"]
    pops = client.app[SCREEN_POPS]
    await pops.on_event(*ringing("second", now(), "1001"))
    await pops.on_event(*answered("second", now(), "1001"))
    await pops.drain()
    response = await client.post(
        "/api/desk/registrations",
        json={"linkedid": "second", "category": "complaint", "content": "还是很吵 still noisy",
              "repeat_of": earlier},
        headers=headers,
    )  # fmt: skip
    assert response.status == 201, await response.text()
    result = await response.json()
    assert result["merged_into"] == earlier and result["ending"] == "merged"
    history = await store.ticket_events_for(earlier)
    # The workflow's merge (并单): the earlier case keeps the repeat caller, its history says so.
    assert history[-1]["kind"] == "merged" and history[-1]["data"]["case"] == result["ticket"]
    assert result["status"] == "merged"


async def test_the_form_names_every_bad_field(aiohttp_client: Any, store: TicketStore) -> None:
    client, headers = await ringing_desk(aiohttp_client, store, "call-2")
    response = await client.post(
        "/api/desk/registrations",
        json={"linkedid": "call-2", "category": "weather", "content": " ", "ending": "referred",
              "reply_wanted": "yes", "color": "red", "address": "x" * 256},
        headers=headers,
    )  # fmt: skip
    assert response.status == 400
    body = await response.json()
    assert body["error"]["id"] == "registration.invalid"
    faults = {(error["field"], error["id"]) for error in body["errors"]}
    assert faults == {
        ("color", "input.unknown_field"),
        ("content", "input.required"),
        ("address", "input.text"),
        ("reply_wanted", "input.choice"),
        ("category", "input.choice"),
        ("referred_to", "input.required"),
    }
    unknown = await client.post(
        "/api/desk/registrations", json={**FORM, "linkedid": "never-rang"}, headers=headers
    )
    assert unknown.status == 404
    assert (await unknown.json())["error"]["id"] == "registration.unknown_call"
    stranger = await client.post(
        "/api/desk/registrations",
        json={**FORM, "linkedid": "call-2", "repeat_of": "12345-19990101-000001"},
        headers=headers,
    )
    assert (await stranger.json())["error"]["id"] == "registration.repeat_of"


async def test_drafts_are_kept_per_agent_and_call(aiohttp_client: Any, store: TicketStore) -> None:
    client, headers = await ringing_desk(aiohttp_client, store, "call-3")
    other = await bearer(store, "li", "agent")
    for content in ("噪音", "噪音扰民"):
        saved = await client.post(
            "/api/desk/drafts/call-3", json={"data": {"content": content}}, headers=headers
        )
        assert saved.status == 200
    mine = await (await client.get("/api/desk/drafts?linkedid=call-3", headers=headers)).json()
    assert [d["data"] for d in mine["drafts"]] == [{"content": "噪音扰民"}]
    theirs = await (await client.get("/api/desk/drafts", headers=other)).json()
    assert theirs["drafts"] == []
    bad = await client.post(
        "/api/desk/drafts/call-3", json={"data": {"content": "a\x00b", "x": 1}}, headers=headers
    )
    assert bad.status == 400
    assert {e["field"] for e in (await bad.json())["errors"]} == {"content", "x"}
    # Registering the call ends its draft.
    await client.post("/api/desk/registrations", json={**FORM, "linkedid": "call-3"},
                      headers=headers)  # fmt: skip
    left = await (await client.get("/api/desk/drafts", headers=headers)).json()
    assert left["drafts"] == []


async def test_only_the_agent_who_took_the_call_or_a_supervisor_registers_it(
    aiohttp_client: Any, store: TicketStore
) -> None:
    agents = StaticLookup({"PJSIP/1001": "wang", "PJSIP/1002": "li"})
    app = create_app(FakeLive(), dict, store=store, desk_agents=agents)
    client = await aiohttp_client(app)
    pops = app[SCREEN_POPS]
    wang = await bearer(store, "wang", "agent")
    li = await bearer(store, "li", "agent")
    boss = await bearer(store, "boss", "supervisor")

    async def register(headers: dict[str, str], linkedid: str) -> tuple[int, dict[str, Any]]:
        response = await client.post(
            "/api/desk/registrations", json={**FORM, "linkedid": linkedid}, headers=headers
        )
        return response.status, await response.json()

    # Ringing at wang's phone is not taking the call (ringall: li's may answer it).
    await pops.on_event(*ringing("live-1", now(), "1001"))
    await pops.drain()
    status, body = await register(wang, "live-1")
    assert (status, body["error"]["id"], body["error"]["field"]) == (
        403, "registration.not_yours", "linkedid",
    )  # fmt: skip
    await pops.on_event(*answered("live-1", now(), "1001"))
    await pops.drain()
    # wang took it: li (no pop of it, nothing stored) is refused with a clear id; wang is not.
    status, body = await register(li, "live-1")
    assert (status, body["error"]["id"]) == (403, "registration.not_yours")
    assert "supervisor" in body["error"]["message"]
    assert (await register(wang, "live-1"))[0] == 201

    # A stored call (its pop long gone): the agent table says whose phone answered it.
    directory = AgentDirectory(store.engine)
    await directory.set_agent("li", extension="1002", name="li")
    await directory.set_agent("wang", extension="1001", name="wang")
    for linkedid in ("stored-1", "stored-2"):
        await store.save_calls(
            [make_record(linkedid=linkedid, uniqueid=linkedid, member_interface="PJSIP/1002")]
        )
    status, body = await register(wang, "stored-1")
    assert (status, body["error"]["id"]) == (403, "registration.not_yours")
    assert (await register(li, "stored-1"))[0] == 201
    # A supervisor may register any call (a colleague's left unregistered).
    assert (await register(boss, "stored-2"))[0] == 201
    # An unknown call is still unknown (404), whoever asks.
    status, body = await register(li, "never-rang")
    assert (status, body["error"]["id"]) == (404, "registration.unknown_call")


async def test_another_callers_report_of_the_same_place_is_offered_and_merged(
    aiohttp_client: Any, store: TicketStore
) -> None:
    """并单 by place: a neighbour reported the same matter (same address and category) from
    another number; the desk finds that case as the agent types the address, and the new
    registration is added to it. A case about another category, or one merged away, is not
    offered; an unrelated case is refused as a merge target."""
    from ticketing.registrations import CallFacts, Registration

    neighbour = await store.register_call(
        Registration("n-1", "complaint", "夜市噪音", "dispatched", address="中山路1号"),
        "li", CallFacts("13900000002", "李四", 0),
    )  # fmt: skip
    await store.register_call(
        Registration("n-2", "help", "井盖缺失", "dispatched", address="中山路1号"),
        "li", CallFacts("13900000003", "王五", 0),
    )  # fmt: skip
    elsewhere = await store.register_call(
        Registration("n-3", "complaint", "施工噪音", "dispatched", address="北京东路2号"),
        "li", CallFacts("13900000004", "赵六", 0),
    )  # fmt: skip
    client, headers = await ringing_desk(aiohttp_client, store, "mine")

    response = await client.get(
        "/api/desk/similar", params={"address": " 中山路1号 ", "category": "complaint"},
        headers=headers,
    )  # fmt: skip
    assert response.status == 200, await response.text()
    found = (await response.json())["cases"]
    assert [c["number"] for c in found] == [neighbour["ticket"]]
    assert "caller_number" not in found[0] and "caller_name" not in found[0]
    bad = await client.get(
        "/api/desk/similar", params={"address": "x", "category": "weather"}, headers=headers
    )
    assert bad.status == 400 and (await bad.json())["error"]["field"] == "category"

    refused = await client.post(
        "/api/desk/registrations",
        json={**FORM, "linkedid": "mine", "repeat_of": elsewhere["ticket"]},
        headers=headers,
    )
    assert refused.status == 400
    assert (await refused.json())["error"]["id"] == "registration.repeat_of"
    merged = await client.post(
        "/api/desk/registrations",
        json={**FORM, "linkedid": "mine", "repeat_of": neighbour["ticket"]},
        headers=headers,
    )
    assert merged.status == 201, await merged.text()
    result = await merged.json()
    assert (result["merged_into"], result["status"]) == (neighbour["ticket"], "merged")
    history = await store.ticket_events_for(neighbour["ticket"])
    assert history[-1]["kind"] == "merged" and history[-1]["data"]["case"] == result["ticket"]
    # The merged case is no longer offered; the neighbour's still is.
    again = await client.get(
        "/api/desk/similar", params={"address": "中山路1号", "category": "complaint"},
        headers=headers,
    )  # fmt: skip
    assert [c["number"] for c in (await again.json())["cases"]] == [neighbour["ticket"]]
