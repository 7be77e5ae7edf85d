"""Cases over the JSON API with bearer tokens: a unit's inbox (own cases only, caller
masked), sign, return with reason and basis, extension, answer with attachments; refusals
and conflicts as clear errors; a misconduct report's accuser hidden from all but the head
and the discipline office."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from hotline.settings import Settings
from hotline.web.app import create_app
from hotline.web.auth_accounts import create_token_account
from tests.ticketing.conftest import make_record
from tests.web.auth_helpers import bearer
from tests.web.fake_live import FakeLive
from ticketing.store import TicketStore
from ticketing.workflow import Actor

Client = TestClient[Any, Any]
CALLER = "13812345678"


async def _client(aiohttp_client: Any, store: TicketStore) -> Client:
    for unit in ("住建局", "水务局"):
        await store.add_unit(unit)
    app = create_app(FakeLive(), lambda: {}, store=store, settings=Settings())
    client: Client = await aiohttp_client(app)
    return client


async def unit_token(store: TicketStore, username: str, unit: str) -> dict[str, str]:
    token = await create_token_account(store, username, "unit", username, unit)
    return {"Authorization": f"Bearer {token}"}


async def dispatched_case(
    store: TicketStore, unit: str, category: str = "help", caller: str = CALLER
) -> dict[str, Any]:
    assert await store.save_calls([make_record(caller_num=caller, caller_name="张三")]) == 1
    [ticket] = await store.recent_tickets_for_caller(caller, days=3650)
    return await store.apply_action(
        ticket["id"], "dispatch", Actor("li", "agent"),
        {"unit": unit, "category": category, "subject": "漏水"}, 1,
    )  # fmt: skip


async def act(client: Client, headers: dict[str, str], number: str, **body: Any) -> Any:
    return await client.post(f"/api/cases/{number}/actions", json=body, headers=headers)


async def test_a_unit_works_its_inbox_through_the_api(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    ours = await dispatched_case(store, "住建局")
    await dispatched_case(store, "水务局", caller="13900000000")
    unit = await unit_token(store, "zjj-system", "住建局")

    inbox = await (await client.get("/api/cases/inbox", headers=unit)).json()
    assert [c["number"] for c in inbox["cases"]] == [ours["number"]]
    [seen] = inbox["cases"]
    assert seen["caller_number"] == "138****5678" and seen["caller_name"] == "张*"
    assert seen["actions"] == ["sign", "return"]

    number = ours["number"]
    signed = await act(client, unit, number, action="sign", expected_version=2)
    assert signed.status == 200
    body = await signed.json()
    assert (body["status"], body["version"]) == ("signed", 3)
    ask = await act(client, unit, number, action="request_extension",
                    fields={"reason": "需检测", "days": 2}, expected_version=3)  # fmt: skip
    assert ask.status == 200
    boss = await bearer(store, "zhao", "supervisor")
    assert (await act(client, boss, number, action="approve_extension",
                      expected_version=4)).status == 200  # fmt: skip
    answered = await act(client, unit, number, action="answer",
                         fields={"answer": "已修复", "attachments": ["file:sha256:ab12"]},
                         expected_version=5)  # fmt: skip
    assert (await answered.json())["status"] == "answered"

    case = await (await client.get(f"/api/cases/{number}", headers=unit)).json()
    assert [(e["kind"], e["actor"]) for e in case["history"]] == [
        ("created", "system"), ("dispatch", "li"), ("sign", "zjj-system"),
        ("request_extension", "zjj-system"), ("approve_extension", "zhao"),
        ("answer", "zjj-system"),
    ]  # fmt: skip
    assert case["history"][-1]["data"]["fields"]["attachments"] == ["file:sha256:ab12"]
    log = [e["action"] for e in reversed(await store.access_log(actor="zjj-system"))]
    assert log == ["case.sign", "case.request_extension", "case.answer"]


async def test_refusals_conflicts_and_other_units_cases(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    theirs = await dispatched_case(store, "水务局")
    unit = await unit_token(store, "zjj", "住建局")
    water = await unit_token(store, "swj", "水务局")
    # Another unit's case does not exist for us.
    for response in (
        await client.get(f"/api/cases/{theirs['number']}", headers=unit),
        await act(client, unit, theirs["number"], action="sign", expected_version=2),
    ):
        assert response.status == 404
        assert (await response.json())["error"]["id"] == "case.not_found"
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"action": "answer", "fields": {"answer": "x"}, "expected_version": 2}, 409,
         "workflow.forbidden"),
        ({"action": "return", "fields": {"reason": "x"}, "expected_version": 2}, 400,
         "workflow.fields"),
        ({"action": "sign", "expected_version": 1}, 409, "workflow.conflict"),
        ({"action": "sign"}, 400, "input.required"),
        ({"action": "sign", "expected_version": 2, "extra": 1}, 400, "input.unknown_field"),
        ({"action": "sign", "fields": [], "expected_version": 2}, 400, "input.body"),
    ]  # fmt: skip
    for body, status, error_id in cases:
        response = await client.post(
            f"/api/cases/{theirs['number']}/actions", json=body, headers=water
        )
        assert response.status == status, body
        assert (await response.json())["error"]["id"] == error_id, body
    assert (await store.case_by_number(theirs["number"]))["version"] == 2
    # Roles the workflow has no place for may not act at all.
    auditor = await bearer(store, "jc", "auditor")
    refused = await act(client, auditor, theirs["number"], action="sign", expected_version=2)
    assert refused.status == 403


async def test_a_misconduct_reports_accuser_is_seen_by_head_and_discipline_only(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    report = await dispatched_case(store, "住建局", category="report")
    path = f"/api/cases/{report['number']}"
    for role in ("supervisor", "agent"):
        who = await bearer(store, f"u-{role}", role)
        seen = await (await client.get(path, headers=who)).json()
        assert (seen["caller_number"], seen["caller_name"]) == ("***", "***"), role
    unit = await unit_token(store, "zjj", "住建局")
    assert (await (await client.get(path, headers=unit)).json())["caller_number"] == "***"
    for role in ("admin", "auditor"):
        who = await bearer(store, f"u-{role}", role)
        seen = await (await client.get(path, headers=who)).json()
        assert (seen["caller_number"], seen["caller_name"]) == (CALLER, "张三"), role


async def test_the_routes_are_in_the_openapi_description(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    sup = await bearer(store, "sup", "supervisor")
    spec = await (await client.get("/api/openapi.json", headers=sup)).json()
    assert {"/api/cases/inbox", "/api/cases/{number}", "/api/cases/{number}/actions"} <= set(
        spec["paths"]
    )
