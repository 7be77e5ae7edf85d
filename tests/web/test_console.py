"""The supervisor console (hotline/web/console.py and the JSON routes its pages use): every
page and route with the roles allowed and refused, merged callers masked by role, exclusion
windows removed, KPI downloads (CSV, XLSX with typed cells), user administration (logged)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from hotline.settings import Settings
from hotline.web.app import create_app
from hotline.web.auth_passwords import verify_password
from hotline.web.auth_table import ROLES
from tests.web.auth_helpers import PASSWORD, add_password_user, bearer, session_csrf, submit_login
from tests.web.fake_incidents import FakeIncidents, incident_body
from tests.web.fake_live import FakeLive
from ticketing.store import TicketStore

Client = TestClient[Any, Any]

PAGES = {
    "/console": {"supervisor", "admin", "auditor"},
    "/console/incidents": {"supervisor", "admin"},
    "/console/exclusions": {"supervisor", "admin"},
    "/console/kpi": {"supervisor", "admin", "auditor"},
    "/console/reports/daily": {"supervisor", "admin", "auditor"},
    "/console/reports/weekly": {"supervisor", "admin", "auditor"},
    "/console/reports/monthly": {"supervisor", "admin", "auditor"},
    "/console/staffing": {"supervisor", "admin", "auditor"},
    "/console/users": {"admin"},
    "/console/access-log": {"auditor", "admin"},
}
# (method, path, body, roles allowed)
API: list[tuple[str, str, dict[str, Any] | None, set[str]]] = [
    ("GET", "/api/incidents/w1/merged", None, {"supervisor", "admin"}),
    ("POST", "/api/kpi/exclusions/999/remove", None, {"supervisor", "admin"}),
    ("GET", "/api/kpi/export?from=2026-11-01&to=2026-11-02&format=csv", None,
     {"supervisor", "admin", "auditor"}),
    ("GET", "/api/reports?kind=weekly&date=2026-11-25", None, {"supervisor", "admin", "auditor"}),
    ("GET", "/api/reports/export?kind=monthly&month=2026-11&format=xlsx", None,
     {"supervisor", "admin", "auditor"}),
    ("GET", "/api/reports/drill?from=2026-11-01&to=2026-11-30&figure=on_time_rate", None,
     {"supervisor", "admin", "auditor"}),
    ("GET", "/api/users", None, {"admin"}),
    ("POST", "/api/users", {"username": "x1", "role": "agent", "password": "short"}, {"admin"}),
    ("POST", "/api/users/nobody/disable", None, {"admin"}),
    ("POST", "/api/users/nobody/enable", None, {"admin"}),
    ("POST", "/api/users/nobody/password", {"password": "0123456789ab"}, {"admin"}),
    ("POST", "/api/users/nobody/role", {"role": "agent"}, {"admin"}),
]  # fmt: skip


async def _client(aiohttp_client: Any, store: TicketStore) -> Client:
    app = create_app(
        FakeLive(),
        lambda: {"ami": {"ok": True}},
        store=store,
        incidents=FakeIncidents(),
        settings=Settings(),
    )
    client: Client = await aiohttp_client(app)
    return client


async def test_every_console_page_and_route_allows_its_roles_and_refuses_the_rest(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    tokens = {role: await bearer(store, f"r-{role}", role) for role in ROLES}
    for path, allowed in PAGES.items():
        anonymous = await client.get(path, allow_redirects=False)
        assert anonymous.status == 302 and "/login" in anonymous.headers["Location"], path
        for role, headers in tokens.items():
            response = await client.get(path, headers=headers, allow_redirects=False)
            if role in allowed:
                assert response.status == 200, (path, role)
                assert "default-src 'self'" in response.headers["Content-Security-Policy"]
                assert "console_common.js" in await response.text()
            else:
                assert response.status == 403, (path, role)
    for method, path, body, allowed in API:
        assert (await client.request(method, path, json=body)).status == 401, path
        for role, headers in tokens.items():
            response = await client.request(method, path, json=body, headers=headers)
            if role in allowed:
                assert response.status not in (401, 403), (method, path, role)
            else:
                assert response.status == 403, (method, path, role)
                assert (await response.json())["error"]["id"] == "auth.role"


async def test_merged_callers_are_listed_masked_for_roles_that_may_not_see_numbers(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    await store.save_incident(incident_body("w1", start=datetime.now(UTC).isoformat()))
    at = datetime.now(UTC)
    await store.merge_incident_report("w1", "call-1", "13800138001", at)
    await store.merge_incident_report("w1", "call-2", "13900139002", at + timedelta(seconds=5))
    sup = await bearer(store, "sup", "supervisor")
    admin = await bearer(store, "boss", "admin")
    shown = await (await client.get("/api/incidents/w1/merged", headers=sup)).json()
    assert shown["incident_id"] == "w1"
    assert [(c["linkedid"], c["caller_num"]) for c in shown["callers"]] == [
        ("call-1", "13800138001"),
        ("call-2", "13900139002"),
    ]
    masked = await (await client.get("/api/incidents/w1/merged", headers=admin)).json()
    assert [c["caller_num"] for c in masked["callers"]] == ["138****8001", "139****9002"]
    missing = await client.get("/api/incidents/nope/merged", headers=sup)
    assert missing.status == 404 and (await missing.json())["error"]["id"] == "incident.not_found"
    bad = await client.get("/api/incidents/a%20b/merged", headers=sup)
    assert bad.status == 400


async def test_exclusion_windows_are_listed_with_ids_and_removed_with_an_audit_entry(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    sup = await bearer(store, "sup", "supervisor")
    now = datetime.now(UTC).replace(microsecond=0)
    body = {
        "start": (now - timedelta(hours=2)).isoformat(),
        "end": (now - timedelta(hours=1)).isoformat(),
        "reason": "系统故障 system fault",
    }
    added = await client.post("/api/kpi/exclusions", json=body, headers=sup)
    assert added.status == 201
    window_id = (await added.json())["id"]
    (listed,) = (await (await client.get("/api/kpi/exclusions", headers=sup)).json())["exclusions"]
    assert (listed["id"], listed["reason"], listed["created_by"]) == (
        window_id,
        body["reason"],
        "sup",
    )
    removed = await client.post(f"/api/kpi/exclusions/{window_id}/remove", headers=sup)
    assert removed.status == 200
    assert (await removed.json())["reason"] == body["reason"]
    assert (await (await client.get("/api/kpi/exclusions", headers=sup)).json())["exclusions"] == []
    again = await client.post(f"/api/kpi/exclusions/{window_id}/remove", headers=sup)
    assert again.status == 404 and (await again.json())["error"]["id"] == "kpi.exclusion_not_found"
    junk = await client.post("/api/kpi/exclusions/abc/remove", headers=sup)
    assert junk.status == 400 and (await junk.json())["error"]["field"] == "id"
    log = [(e["action"], e["target"]) for e in await store.access_log(actor="sup")]
    assert ("kpi.exclusion.remove", f"exclusion:{window_id}") in log
    assert await store.exclusions_between(now - timedelta(days=1), now) == []


def _record(n: int, queue: str, answered: bool, start: float) -> dict[str, Any]:
    return {
        "pbx": "pbx1",
        "uniqueid": f"{start}.{n}",
        "linkedid": f"{start}.{n}",
        "leg": 1,
        "caller_num": f"1380013800{n}",
        "queue": queue,
        "started_at": start,
        "queue_entered_at": start + 5,
        "answered_at": start + 10 if answered else None,
        "ended_at": start + 100,
        "outcome": "answered" if answered else "abandoned",
        "agent": "PJSIP/1001" if answered else None,
    }


async def test_kpi_downloads_csv_and_xlsx_with_typed_cells_one_sheet_per_table(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    day = datetime(2026, 11, 24, 2, 0, tzinfo=UTC).timestamp()  # 10:00 in Asia/Shanghai
    await store.save_calls(
        [_record(1, "hotline-general", True, day), _record(2, "hotline-general", False, day + 60),
         _record(3, "hotline-report", True, day + 86400)]
    )  # fmt: skip
    auditor = await bearer(store, "aud", "auditor")
    query = "from=2026-11-24&to=2026-11-25"
    report = await (await client.get(f"/api/kpi?{query}", headers=auditor)).json()
    assert report["totals"]["offered"]["value"] == 3

    got = await client.get(f"/api/kpi/export?{query}&format=csv", headers=auditor)
    assert got.status == 200 and got.headers["Content-Type"].startswith("text/csv")
    assert 'filename="kpi-2026-11-24-2026-11-25.csv"' in got.headers["Content-Disposition"]
    text = (await got.read()).decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the Chinese labels as UTF-8
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    offered = {(r["table"], r["key"]): r["value"] for r in rows if r["figure"] == "offered"}
    assert offered[("totals", "全部 all")] == "3"
    assert offered[("by_day", "2026-11-24")] == "2" and offered[("by_day", "2026-11-25")] == "1"
    assert {"by_queue", "by_hour", "by_pbx"} <= {r["table"] for r in rows}

    got = await client.get(f"/api/kpi/export?{query}&format=xlsx", headers=auditor)
    assert got.status == 200
    assert got.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    book = load_workbook(io.BytesIO(await got.read()))
    assert book.sheetnames == [
        "合计 totals", "按日 by day", "按小时 by hour", "按队列 by queue", "按座席 by agent",
        "按交换机 by PBX",
    ]  # fmt: skip
    days = book["按日 by day"]
    header = [c.value for c in days[1]]
    offered_col = next(i for i, h in enumerate(header) if h and "offered" in str(h))
    answered_col = next(i for i, h in enumerate(header) if h and str(h).endswith(" answered"))
    rate_col = next(i for i, h in enumerate(header) if h and "connect rate" in str(h))
    first = [c for c in days[2]]
    assert first[0].value == "2026-11-24"
    assert first[offered_col].value == 2 and first[offered_col].data_type == "n"
    assert isinstance(first[offered_col].value, int)
    assert first[answered_col].value == 1
    assert first[rate_col].value == pytest.approx(0.5) and "%" in first[rate_col].number_format
    queues = [row[0].value for row in book["按队列 by queue"].iter_rows(min_row=2)]
    assert queues == ["hotline-general", "hotline-report"]

    one_queue = await client.get(
        f"/api/kpi/export?{query}&format=csv&queue=hotline-report", headers=auditor
    )
    rows = list(csv.DictReader(io.StringIO((await one_queue.read()).decode().lstrip("\ufeff"))))
    assert {r["value"] for r in rows if r["figure"] == "offered" and r["table"] == "totals"} == {
        "1"
    }
    bad = await client.get(f"/api/kpi/export?{query}&format=pdf", headers=auditor)
    assert bad.status == 400 and (await bad.json())["error"]["field"] == "format"
    actions = [e["action"] for e in await store.access_log(actor="aud")]
    assert actions.count("kpi.export") == 3


async def test_user_administration_creates_disables_resets_and_changes_roles_all_logged(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    admin = await bearer(store, "boss", "admin")
    created = await client.post(
        "/api/users",
        json={"username": "li", "role": "agent", "display_name": "李四", "password": PASSWORD},
        headers=admin,
    )
    assert created.status == 201, await created.text()
    again = await client.post(
        "/api/users", json={"username": "li", "role": "agent", "password": PASSWORD}, headers=admin
    )
    assert again.status == 409 and (await again.json())["error"]["id"] == "user.exists"
    short = await client.post(
        "/api/users", json={"username": "wu", "role": "agent", "password": "short"}, headers=admin
    )
    assert short.status == 400 and (await short.json())["error"]["field"] == "password"
    listed = await (await client.get("/api/users", headers=admin)).json()
    li = next(u for u in listed["users"] if u["username"] == "li")
    assert (li["role"], li["active"], li["display_name"]) == ("agent", True, "李四")
    assert "password_hash" not in li and listed["roles"] == list(ROLES)

    # li logs in; disabling li ends the session at once, and is in the access log.
    browser = client
    assert (await submit_login(browser, "li", PASSWORD)).status == 303
    assert (await browser.get("/api/session")).status == 200
    disabled = await client.post("/api/users/li/disable", headers=admin)
    assert disabled.status == 200
    assert (await browser.get("/api/session")).status == 401
    assert (await store.get_user("li") or {})["active"] is False
    assert (await client.post("/api/users/li/enable", headers=admin)).status == 200

    reset = await client.post(
        "/api/users/li/password", json={"password": "a brand new secret"}, headers=admin
    )
    assert reset.status == 200
    user = await store.get_user("li")
    assert user is not None and verify_password(user["password_hash"], "a brand new secret")[0]
    role = await client.post("/api/users/li/role", json={"role": "supervisor"}, headers=admin)
    assert role.status == 200 and (await store.get_user("li") or {})["role"] == "supervisor"
    unknown = await client.post("/api/users/li/role", json={"role": "king"}, headers=admin)
    assert unknown.status == 400
    missing = await client.post("/api/users/nobody/disable", headers=admin)
    assert missing.status == 404 and (await missing.json())["error"]["id"] == "user.not_found"
    myself = await client.post("/api/users/boss/disable", headers=admin)
    assert myself.status == 400 and (await myself.json())["error"]["id"] == "user.self"

    log = [(e["action"], e["target"], e["detail"]) for e in await store.access_log(actor="boss")]
    assert list(reversed(log)) == [
        ("user.create", "user:li", {"role": "agent"}),
        ("user.disable", "user:li", {}),
        ("user.enable", "user:li", {}),
        ("user.password_reset", "user:li", {}),
        ("user.role", "user:li", {"role": "supervisor"}),
    ]


async def test_a_console_page_form_post_needs_the_session_csrf(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    await add_password_user(store, "boss", "admin")
    assert (await submit_login(client, "boss", PASSWORD, "/console/users")).status == 303
    body = {"username": "zhao", "role": "agent", "password": PASSWORD}
    refused = await client.post("/api/users", json=body)
    assert refused.status == 403 and (await refused.json())["error"]["id"] == "auth.csrf"
    csrf = await session_csrf(client)
    assert (
        await client.post("/api/users", json=body, headers={"X-CSRF-Token": csrf})
    ).status == 201
