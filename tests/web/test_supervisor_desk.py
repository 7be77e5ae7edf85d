"""The supervisor's desk console and its API (hotline/web/api_supervisor.py): supervisors and
admins only — every other role is refused by its RouteTable entry before any work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from acd.agents.actions import MemberActions
from acd.agents.board import AgentBoard
from hotline.agent_desk import AgentDesk
from hotline.settings import AgentsSettings
from hotline.web.app import create_app
from hotline.web.auth_table import ROLES, SUPERVISION
from tests.web.auth_helpers import bearer
from tests.web.fake_live import FakeLive
from ticketing.store import TicketStore

ALLOWED = sorted(SUPERVISION)
REFUSED = sorted(set(ROLES) - SUPERVISION)
# (method, path, body, the status an allowed role gets from this PBX-less desk)
CALLS: list[tuple[str, str, dict[str, Any] | None, int]] = [
    ("GET", "/supervisor/desk", None, 200),
    ("GET", "/api/supervisor/agents", None, 200),
    ("GET", "/api/supervisor/callbacks", None, 200),
    # nobody of that name is tied to a phone: past the role check, the desk says so
    ("POST", "/api/supervisor/agents/nobody/pause", {"reason": "会议"}, 404),
    ("POST", "/api/supervisor/agents/nobody/logout", {"reason": "下班 end of shift"}, 404),
]


@pytest.fixture
async def client(aiohttp_client: Any, store: TicketStore, tmp_path: Path) -> Any:
    desk = AgentDesk(
        AgentsSettings(),
        store=store,
        boards={"pbx1": AgentBoard()},
        actions={"pbx1": MemberActions(lambda: None)},
        timezone="Asia/Shanghai",
        recordings_dir=str(tmp_path),
    )
    return await aiohttp_client(create_app(FakeLive(), dict, store=store, agents=desk))


@pytest.mark.parametrize("role", ALLOWED)
async def test_supervisors_and_admins_use_the_console(
    client: Any, store: TicketStore, role: str
) -> None:
    headers = await bearer(store, f"boss-{role}", role)
    for method, path, body, status in CALLS:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status == status, (path, await response.text())
    agents = await (await client.get("/api/supervisor/agents", headers=headers)).json()
    assert agents["items"] == [] and "会议" in agents["pause_reasons"]
    board = await (await client.get("/api/supervisor/callbacks", headers=headers)).json()
    assert (board["open"], board["claimed"], board["done"], board["items"]) == (0, 0, 0, [])


@pytest.mark.parametrize("role", REFUSED)
async def test_other_roles_are_refused(client: Any, store: TicketStore, role: str) -> None:
    headers = await bearer(store, f"someone-{role}", role)
    for method, path, body, _ in CALLS:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status == 403, (role, path)
        if path.startswith("/api/"):
            assert (await response.json())["error"]["id"] == "auth.role"


async def test_a_remote_action_needs_its_reason(client: Any, store: TicketStore) -> None:
    headers = await bearer(store, "boss", "supervisor")
    response = await client.post("/api/supervisor/agents/li/logout", json={}, headers=headers)
    assert response.status == 400
    assert (await response.json())["error"] == {
        "id": "input.required", "message": "reason: required", "field": "reason",
    }  # fmt: skip
    response = await client.post(
        "/api/supervisor/agents/li/pause", json={"reason": "会议", "x": 1}, headers=headers
    )
    assert (await response.json())["error"]["id"] == "input.unknown_field"
