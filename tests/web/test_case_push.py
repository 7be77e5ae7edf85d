"""The case console's live lists (/ws/cases): a case dispatched to a unit, then chased by the
scheduler, reaches that unit's open console without a reload — and nobody else's unit; the
hotline's staff hear of every case; a change made while the console was away is not lost
(the page reloads its list on reconnect, the watcher starts from now)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestClient

from hotline.settings import Settings
from hotline.web.app import create_app
from hotline.web.case_push import CASE_PUSHES
from tests.web.auth_helpers import bearer
from tests.web.fake_live import FakeLive
from tests.web.test_cases_api import unit_token
from ticketing.store import TicketStore
from ticketing.workflow import Actor

Client = TestClient[Any, Any]
AGENT = Actor("li", "agent")
BOSS = Actor("zhao", "supervisor")


async def next_case(ws: ClientWebSocketResponse) -> dict[str, Any]:
    """The next case message on the socket (waiting at most 10 s)."""
    while True:
        message = await ws.receive_json(timeout=10)
        if message["type"] == "case":
            return message


async def opened(client: Client, headers: dict[str, str]) -> ClientWebSocketResponse:
    ws = await client.ws_connect("/ws/cases", headers=headers)
    assert (await ws.receive_json(timeout=10))["type"] == "hello"
    return ws


async def test_a_dispatched_then_chased_case_reaches_its_units_console_only(
    aiohttp_client: Any, store: TicketStore
) -> None:
    await store.add_unit("城建集团")
    await store.add_unit("住建局", parent="城建集团")
    await store.add_unit("水务局")
    app = create_app(FakeLive(), lambda: {}, store=store, settings=Settings())
    client: Client = await aiohttp_client(app)
    housing = await opened(client, await unit_token(store, "zjj", "住建局"))
    parent = await opened(client, await unit_token(store, "cjjt", "城建集团"))
    water = await opened(client, await unit_token(store, "swj", "水务局"))
    desk = await opened(client, await bearer(store, "zhao", "supervisor"))

    case = await store.register_case(AGENT, {"category": "help", "subject": "井盖缺失"})
    seen = await next_case(desk)  # the hotline's staff hear of every case
    assert (seen["number"], seen["status"]) == (case["number"], "registered")
    case = await store.apply_action(case["id"], "dispatch", AGENT, {"unit": "住建局"}, 1)
    for ws in (housing, parent):  # the unit and the unit above it
        seen = await next_case(ws)
        assert (seen["number"], seen["kind"], seen["status"]) == (
            case["number"], "dispatch", "dispatched",
        )  # fmt: skip
    assert "handling_unit" not in seen  # the page asks the routes, which apply the roles

    # The chase scheduler's sweep (another process could have done it): the unit hears it.
    await store.sweep_chases(datetime.now(UTC) + timedelta(days=40), timedelta(hours=4))
    app[CASE_PUSHES].poke()
    assert (await next_case(housing))["kind"] in {"chase", "supervise"}

    # 水务局 heard nothing of it: the first case it hears of is its own.
    own = await store.register_case(AGENT, {"category": "help"})
    own = await store.apply_action(own["id"], "dispatch", AGENT, {"unit": "水务局"}, 1)
    assert (await next_case(water))["number"] == own["number"]

    # 水务局 asks to return it and the supervisor agrees: the case leaves its list, and its
    # console hears of that too.
    own = await store.apply_action(
        own["id"], "return", Actor("swj", "unit", "水务局"), {"reason": "非本单位职责",
        "basis": "三定方案"}, own["version"],
    )  # fmt: skip
    assert (await next_case(water))["status"] == "return_requested"
    back = await store.apply_action(own["id"], "approve_return", BOSS, {}, own["version"])
    seen = await next_case(water)
    assert (seen["number"], seen["kind"], seen["status"]) == (
        own["number"], "approve_return", "to_dispatch",
    )  # fmt: skip
    own = await store.apply_action(back["id"], "dispatch", AGENT, {"unit": "水务局"},
                                   back["version"])  # fmt: skip
    assert (await next_case(water))["kind"] == "dispatch"

    # Everyone gone: the watcher stops looking; a console opened later starts from now.
    for ws in (housing, parent, water, desk):
        await ws.close()
    await store.apply_action(own["id"], "sign", Actor("swj", "unit", "水务局"), {}, own["version"])
    water = await opened(client, await unit_token(store, "swj2", "水务局"))
    await store.apply_action(
        own["id"], "start", Actor("swj", "unit", "水务局"), {}, own["version"] + 1
    )
    seen = await next_case(water)
    assert (seen["kind"], seen["status"]) == ("start", "in_progress")
    await water.close()


async def test_a_console_of_a_signed_out_user_is_closed(
    aiohttp_client: Any, store: TicketStore
) -> None:
    app = create_app(FakeLive(), lambda: {}, store=store, settings=Settings())
    client: Client = await aiohttp_client(app)
    ws = await opened(client, await bearer(store, "zhao", "supervisor"))
    assert len(app[CASE_PUSHES].screens) == 1
    await app[CASE_PUSHES].close_user("zhao")
    closing = await ws.receive(timeout=10)
    assert closing.type.name in {"CLOSE", "CLOSED", "CLOSING"}
    assert app[CASE_PUSHES].screens == {}
