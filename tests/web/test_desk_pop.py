"""Screen pops on the desk's own WebSocket: only the ringing agent's desk gets one, with the
caller's recent tickets and incidents, and a desk opened while the phone rings gets it too."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from acd.agents.actions import MemberActions
from acd.agents.board import AgentBoard
from events import topics as t
from hotline.agent_desk import AgentDesk
from hotline.settings import AgentsSettings
from hotline.web.app import AGENT_PUSHES, SCREEN_POPS, create_app
from hotline.web.auth_accounts import create_token_account
from hotline.web.auth_table import ROLES
from hotline.web.caller_mask import caller_number_for, callers_for
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
from ticketing.agents import AgentDirectory
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
    # Registered "to be dispatched": the workflow holds it for the dispatcher.
    assert full["history"]["tickets"][0]["status"] == "to_dispatch"
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


def test_the_pop_and_the_agent_state_mask_a_number_alike_for_every_role() -> None:
    # /api/agent/state and /api/callbacks answer through callers_for, the pop through
    # shown_to: one rule, so one call never shows two ways on the same screen.
    state: dict[str, Any] = {"state": "ringing", "call": {"caller_num": CALLER, "linkedid": "x"},
             "items": [{"caller_num": "+8613912345678"}]}  # fmt: skip
    for role in ROLES:
        for number in (CALLER, "+8613912345678", "025-1234", "anonymous"):
            pop = shown_to({"number": number, "linkedid": "x"}, role)["number"]
            seen = callers_for({"call": {"caller_num": number}}, role)["call"]["caller_num"]
            assert pop == seen == caller_number_for(number, role), (role, number)
        shown = callers_for(state, role)
        assert state["call"]["caller_num"] == CALLER  # the original is left alone
        masked = role not in ("agent", "supervisor")
        assert (shown["call"]["caller_num"] != CALLER) is masked
        assert (shown["items"][0]["caller_num"] == "+86139****5678") is masked


async def desk_with_agents(store: TicketStore) -> tuple[AgentDesk, dict[str, dict[str, str]]]:
    """A desk service with wang on pbx1 and li on pbx2, both on interface PJSIP/1001, and
    their request headers."""
    directory = AgentDirectory(store.engine)
    headers = {}
    for username, pbx in (("wang", "pbx1"), ("li", "pbx2")):
        token = await create_token_account(store, username, "agent", username)
        headers[username] = {"Authorization": f"Bearer {token}"}
        await directory.set_agent(username, extension=f"1001{pbx[-1]}", name=username,
                                  interface="PJSIP/1001", pbx=pbx)  # fmt: skip
    desk = AgentDesk(
        AgentsSettings(),
        store=store,
        boards={"pbx1": AgentBoard(), "pbx2": AgentBoard()},
        actions={"pbx1": MemberActions(lambda: None), "pbx2": MemberActions(lambda: None)},
        timezone="Asia/Shanghai",
        recordings_dir="/tmp",
    )
    await desk.load()
    return desk, headers


async def test_username_for_ties_an_interface_of_one_pbx_to_its_user(store: TicketStore) -> None:
    desk, _ = await desk_with_agents(store)
    assert desk.username_for("pbx1", "PJSIP/1001") == "wang"
    assert desk.username_for("pbx2", "PJSIP/1001", "li") == "li"
    assert desk.username_for("pbx3", "PJSIP/1001") is None  # a PBX nobody sits at
    assert desk.username_for("pbx1", "PJSIP/1002") is None  # a static member, no desk
    assert desk.username_for(None, "PJSIP/1001") is None  # which phone? none is guessed
    assert desk.username_for("pbx1", None, "wang") is None  # a member name is not a phone
    # An agent tied after the service started is known once its desk asks for its state.
    await create_token_account(store, "zhao", "agent", "zhao")
    await AgentDirectory(store.engine).set_agent("zhao", extension="1003", name="zhao", pbx="pbx1")
    assert desk.username_for("pbx1", "PJSIP/1003") is None
    await desk.status("zhao")
    assert desk.username_for("pbx1", "PJSIP/1003") == "zhao"


async def test_pops_of_two_pbxs_with_the_same_ids_stay_apart(
    aiohttp_client: Any, store: TicketStore
) -> None:
    desk, headers = await desk_with_agents(store)
    app = create_app(FakeLive(), dict, store=store, desk_agents=desk)
    client = await aiohttp_client(app)
    pops = app[SCREEN_POPS]
    wang = await desk_socket(client, headers["wang"])
    li = await desk_socket(client, headers["li"])
    at = now()
    # The same linkedid and interface on both PBXs (each numbers its own channels).
    await pops.on_event(*ringing("1.1", at, "1001", pbx="pbx1"))
    await pops.on_event(*ringing("1.1", at, "1001", caller="13900139002", pbx="pbx2"))
    assert (await next_message(wang, "pop"))["pop"]["number"] == CALLER
    seen = (await next_message(li, "pop"))["pop"]
    assert (seen["pbx"], seen["number"]) == ("pbx2", "13900139002")
    # pbx2's caller hangs up: only li's pop goes; pbx1's call is answered: only wang's moves.
    await pops.on_event(*abandoned("1.1", at + 5, pbx="pbx2"))
    await pops.on_event(*answered("1.1", at + 6, "1001", pbx="pbx1"))
    await pops.drain()
    assert pops.pop_for("li") is None
    mine = pops.pop_for("wang")
    assert mine is not None and (mine["pbx"], mine["state"]) == ("pbx1", "answered")


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


def agent_status(pbx: str, state: str, reason: str | None, at: float) -> dict[str, Any]:
    return {"pbx": pbx, "interface": "PJSIP/1001", "name": "x", "state": state,
            "reason": reason, "since": at, "previous": "ready", "change": "pause",
            "queues": [{"queue": "hotline-complaint", "paused": state == "paused",
                        "reason": reason, "penalty": 0, "dynamic": True}],
            "call": None, "at": at}  # fmt: skip


async def test_the_agents_own_state_is_pushed_to_its_desk_only(
    aiohttp_client: Any, store: TicketStore
) -> None:
    desk, headers = await desk_with_agents(store)
    app = create_app(FakeLive(), dict, store=store, desk_agents=desk)
    client = await aiohttp_client(app)
    pushes = app[AGENT_PUSHES]
    wang = await desk_socket(client, headers["wang"])
    li = await desk_socket(client, headers["li"])
    at = now()
    # wang (pbx1's PJSIP/1001) pauses: wang's desk hears it at once, li's (pbx2's) never.
    await pushes.on_event(t.AGENT_STATUS, agent_status("pbx1", "paused", "用餐", at))
    await pushes.on_event(t.AGENT_STATUS, agent_status("pbx2", "ready", None, at + 1))
    mine = await next_message(wang, "agent")
    assert mine["status"]["state"] == "paused" and mine["status"]["reason"] == "用餐"
    assert mine["status"]["since"] == at and mine["status"]["now"] == at
    assert mine["status"]["queues"][0]["reason"] == "用餐"
    theirs = await next_message(li, "agent")
    assert theirs["status"]["state"] == "ready" and theirs["status"]["pbx"] == "pbx2"
    # A phone nobody sits at, or a desk not open: nothing sent, nothing fails.
    await pushes.on_event(t.AGENT_STATUS, {**agent_status("pbx3", "ready", None, at), "at": at})
    await pushes.on_event(t.AGENT_STATUS, agent_status("pbx1", "ready", None, at + 2))
    assert (await next_message(wang, "agent"))["status"]["state"] == "ready"
