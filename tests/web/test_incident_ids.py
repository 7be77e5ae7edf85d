"""Issue 7 items 1 and 4 at the web API, with the real IncidentDesk behind the route (not the
fake sink): an id with a line break or a field the store cannot hold is a 400 naming it, and
nothing reaches the IVR's board."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hotline.incident_desk import IncidentDesk
from hotline.settings import Settings
from hotline.web.app import create_app
from ivr.incidents import IncidentBoard
from tests.web.auth_helpers import bearer
from tests.web.fake_incidents import incident_body
from tests.web.fake_live import FakeLive
from ticketing.store import TicketStore


def healthy() -> dict[str, Any]:
    return {"ami": {"ok": True}}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "w1\nEXEC System touch /tmp/pwned"),
        ("id", "x" * 65),
        ("id", ".."),
        ("title", "停水\x00"),
        ("title", "t" * 256),
        ("start", "0001-01-01T00:00:00+14:00"),
    ],
)
async def test_the_api_refuses_what_the_ivr_or_the_store_cannot_take(
    aiohttp_client: Any, store: TicketStore, field: str, value: str
) -> None:
    desk = IncidentDesk(IncidentBoard(), store=store)
    app = create_app(FakeLive(), healthy, store=store, incidents=desk, settings=Settings())
    client: TestClient[Any, Any] = await aiohttp_client(app)
    sup = await bearer(store, "sup", "supervisor")
    response = await client.post(
        "/api/incidents", json=incident_body("w1", **{field: value}), headers=sup
    )
    assert response.status == 400
    assert (await response.json())["error"]["field"] == field
    assert desk.board.all() == [] and not desk.unsaved
    good = await client.post("/api/incidents", json=incident_body("w2"), headers=sup)
    assert good.status == 201
    assert [i["id"] for i in await store.incidents()] == ["w2"]


@pytest.mark.parametrize(
    "raw_id", ["x" * 65, "-w1", "a%20b", "%E5%81%9C%E6%B0%B4", "w1%0AEXEC%20System", "w1%00"]
)
async def test_ending_an_id_no_incident_can_have_is_a_400_and_ends_nothing(
    aiohttp_client: Any, store: TicketStore, raw_id: str
) -> None:
    desk = IncidentDesk(IncidentBoard(), store=store)
    app = create_app(FakeLive(), healthy, store=store, incidents=desk, settings=Settings())
    client: TestClient[Any, Any] = await aiohttp_client(app)
    sup = await bearer(store, "sup", "supervisor")
    assert (
        await client.post("/api/incidents", json=incident_body("w1"), headers=sup)
    ).status == 201
    response = await client.post(f"/api/incidents/{raw_id}/end", headers=sup)
    assert response.status == 400
    error = (await response.json())["error"]
    assert (error["id"], error["field"]) == ("incident.invalid", "id")
    assert [i.id for i in desk.board.active()] == ["w1"]


async def test_ending_an_unknown_well_formed_id_is_a_404(
    aiohttp_client: Any, store: TicketStore
) -> None:
    desk = IncidentDesk(IncidentBoard(), store=store)
    app = create_app(FakeLive(), healthy, store=store, incidents=desk, settings=Settings())
    client: TestClient[Any, Any] = await aiohttp_client(app)
    sup = await bearer(store, "sup", "supervisor")
    assert (
        await client.post("/api/incidents", json=incident_body("w1"), headers=sup)
    ).status == 201
    response = await client.post("/api/incidents/w2/end", headers=sup)
    assert response.status == 404
    assert (await response.json())["error"]["id"] == "incident.not_found"
    ended = await client.post("/api/incidents/w1/end", headers=sup)
    assert ended.status == 200
    assert desk.board.active() == []
