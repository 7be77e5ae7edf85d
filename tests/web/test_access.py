"""The role table and the guard: every route listed, unlisted routes refused, each role gets
exactly the routes the table gives it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from yarl import URL

from hotline.web.app import create_app
from hotline.web.auth_accounts import create_token_account
from hotline.web.auth_table import PUBLIC, ROLES
from hotline.web.routes import ROUTES
from tests.web.auth_helpers import bearer
from tests.web.fake_incidents import FakeIncidents, incident_body
from tests.web.fake_live import CALLER, FakeLive
from ticketing.store import TicketStore
from ticketing.users import ROLES as STORE_ROLES
from ticketing.workflow import Actor

Client = TestClient[Any, Any]


def healthy() -> dict[str, Any]:
    return {"ami": {"ok": True}}


# The role table as the guard sees it: the app's one route table.
TABLE = create_app(FakeLive(), healthy)[ROUTES]
ROUTE_ROLES = {route.key: route.roles for route in TABLE}
roles_for = TABLE.roles_for


def registered(app: web.Application) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        method = "GET" if route.method == "HEAD" else route.method
        found.add((method, route.resource.canonical if route.resource else ""))
    return found


def test_the_table_knows_the_store_roles() -> None:
    assert ROLES == STORE_ROLES


def test_every_registered_route_is_in_the_table_and_nothing_else() -> None:
    app = create_app(FakeLive(), healthy)
    assert registered(app) == set(ROUTE_ROLES)


def test_public_routes_are_exactly_login_kiosk_health_and_assets() -> None:
    public = {key for key, roles in ROUTE_ROLES.items() if roles is PUBLIC}
    assert public == {
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/kiosk"),
        ("GET", "/healthz"),
        ("GET", "/static/{name}"),
    }
    wallboard = {"agent", "supervisor", "auditor", "admin", "wallboard"}
    for path in ("/", "/api/wallboard", "/ws"):
        assert roles_for("GET", path) == wallboard
    assert roles_for("HEAD", "/") == wallboard


async def test_a_route_missing_from_the_table_is_refused(
    aiohttp_client: Any, store: TicketStore
) -> None:
    called = False

    async def secret(request: web.Request) -> web.Response:
        nonlocal called
        called = True
        return web.json_response({"secret": True})

    app = create_app(FakeLive(), healthy, store=store)
    app.router.add_get("/api/new-thing", secret)
    client = await aiohttp_client(app)
    admin = await bearer(store, "root", "admin")
    for headers in (admin, {}):
        response = await client.get("/api/new-thing", headers=headers)
        assert response.status == 403
        error = (await response.json())["error"]
        assert error["id"] == "auth.no_rule" and "no access rule" in error["message"]
    assert not called


# One request per guarded route that succeeds for an allowed role.
Request = Callable[[Client, dict[str, str], str], Awaitable[int]]


async def _get(client: Client, path: str, headers: dict[str, str]) -> int:
    response = await client.get(path, headers=headers, allow_redirects=False)
    return response.status


async def _post(client: Client, path: str, headers: dict[str, str], body: Any = None) -> int:
    response = await client.post(path, headers=headers, json=body, allow_redirects=False)
    return response.status


async def _ws(client: Client, headers: dict[str, str], path: str = "/ws") -> int:
    try:
        ws = await client.ws_connect(path, headers=headers)
    except aiohttp.WSServerHandshakeError as error:
        return error.status
    first = await ws.receive_json(timeout=5)
    assert first["type"] == ("wallboard" if path == "/ws" else "hello")
    await ws.close()
    return 101


DESK_FORM = {"linkedid": "never-rang", "category": "other", "content": "x",
             "ending": "invalid"}  # fmt: skip


def requests(
    incidents: FakeIncidents, store: TicketStore | None = None
) -> dict[tuple[str, str], tuple[Request, int]]:
    unit_headers: dict[str, str] = {}

    async def case_for(role: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
        """A case the role may act on: dispatched to its unit for unit staff, else new."""
        if store is None:  # anonymous callers: refused before any case matters
            return "12345-20261125-000001", headers
        if not await store.list_units():
            await store.add_unit("住建局")
            await store.add_unit("水务局")
        case = await store.register_case(Actor("li", "agent"), {"category": "help"})
        if role != "unit":
            return case["number"], headers
        if not unit_headers:
            token = await create_token_account(store, "unit-staff", "unit", "staff", "住建局")
            unit_headers["Authorization"] = f"Bearer {token}"
        await store.apply_action(
            case["id"], "dispatch", Actor("li", "agent"), {"unit": "住建局"}, 1
        )
        return case["number"], unit_headers

    async def read_case(client: Client, headers: dict[str, str], role: str) -> int:
        number, headers = await case_for(role, headers)
        return await _get(client, f"/api/cases/{number}", headers)

    async def act_on_case(client: Client, headers: dict[str, str], role: str) -> int:
        number, headers = await case_for(role, headers)
        action = (
            {"action": "sign", "expected_version": 2}
            if role == "unit"
            else {"action": "dispatch", "fields": {"unit": "水务局"}, "expected_version": 1}
        )
        return await _post(client, f"/api/cases/{number}/actions", headers, action)

    async def similar_cases(client: Client, headers: dict[str, str], role: str) -> int:
        number, headers = await case_for(role, headers)
        return await _get(client, f"/api/cases/{number}/similar", headers)

    async def call_back(client: Client, headers: dict[str, str], role: str) -> int:
        number, headers = await case_for(role, headers)
        body = {"satisfaction": "satisfied", "expected_version": 1}
        return await _post(client, f"/api/cases/{number}/call-back", headers, body)

    async def end(client: Client, headers: dict[str, str], role: str) -> int:
        await incidents.create(incident_body(f"end-{role}"))
        return await _post(client, f"/api/incidents/end-{role}/end", headers)

    window = {"start": "2026-11-25T09:00:00+08:00", "end": "2026-11-25T10:00:00+08:00",
              "reason": "中继故障 trunk failure"}  # fmt: skip
    return {
        ("GET", "/"): (lambda c, h, r: _get(c, "/", h), 200),
        ("GET", "/api/wallboard"): (lambda c, h, r: _get(c, "/api/wallboard", h), 200),
        ("GET", "/ws"): (lambda c, h, r: _ws(c, h), 101),
        ("GET", "/api/session"): (lambda c, h, r: _get(c, "/api/session", h), 200),
        ("GET", "/api/openapi.json"): (lambda c, h, r: _get(c, "/api/openapi.json", h), 200),
        ("POST", "/logout"): (lambda c, h, r: _post(c, "/logout", h), 303),
        ("GET", "/api/incidents"): (lambda c, h, r: _get(c, "/api/incidents", h), 200),
        ("POST", "/api/incidents"): (
            lambda c, h, r: _post(c, "/api/incidents", h, incident_body(f"new-{r}")),
            201,
        ),
        ("POST", "/api/incidents/{id}/end"): (end, 200),
        ("GET", "/api/kpi/exclusions"): (lambda c, h, r: _get(c, "/api/kpi/exclusions", h), 200),
        ("POST", "/api/kpi/exclusions"): (
            lambda c, h, r: _post(c, "/api/kpi/exclusions", h, window),
            201,
        ),
        ("POST", "/api/kiosks"): (lambda c, h, r: _post(c, "/api/kiosks", h, {"name": r}), 201),
        ("GET", "/api/kpi"): (
            lambda c, h, r: _get(c, "/api/kpi?from=2026-11-25&to=2026-11-25", h),
            200,
        ),
        ("GET", "/api/access-log"): (lambda c, h, r: _get(c, "/api/access-log", h), 200),
        # The agent desk (hotline/web/api_agents.py): this app has none, so an agent passes
        # the guard and gets 503; every other role 403.
        **{
            ("GET", path): (lambda c, h, r, path=path: _get(c, path, h), 503)
            for path in ("/api/agent/state", "/api/agent/figures", "/api/callbacks")
        },
        **{
            ("POST", path): (lambda c, h, r, path=path: _post(c, path, h), 503)
            for path in (
                "/api/agent/login",
                "/api/agent/logout",
                "/api/agent/ready",
                "/api/agent/wrap-up/end",
            )
        },
        ("GET", "/api/callbacks/{id}"): (lambda c, h, r: _get(c, "/api/callbacks/1", h), 503),
        # The supervisor desk (hotline/web/api_supervisor.py): no desk here either, so 503
        # past the guard for supervisors and admins.
        ("GET", "/supervisor/desk"): (lambda c, h, r: _get(c, "/supervisor/desk", h), 200),
        **{
            ("GET", path): (lambda c, h, r, path=path: _get(c, path, h), 503)
            for path in ("/api/supervisor/agents", "/api/supervisor/callbacks")
        },
        **{
            ("POST", f"/api/supervisor/agents/{{username}}/{what}"): (
                lambda c, h, r, what=what: _post(
                    c, f"/api/supervisor/agents/li/{what}", h, {"reason": "会议"}
                ),
                503,
            )
            for what in ("pause", "logout")
        },
        ("POST", "/api/agent/pause"): (
            lambda c, h, r: _post(c, "/api/agent/pause", h, {"reason": "用餐"}),
            503,
        ),
        **{
            ("POST", f"/api/callbacks/{{id}}/{verb}"): (
                lambda c, h, r, verb=verb: _post(c, f"/api/callbacks/1/{verb}", h),
                503,
            )
            for verb in ("claim", "release", "call")
        },
        ("POST", "/api/callbacks/{id}/result"): (
            lambda c, h, r: _post(c, "/api/callbacks/1/result", h, {"result": "reached"}),
            503,
        ),
        ("GET", "/desk"): (lambda c, h, r: _get(c, "/desk", h), 200),
        ("GET", "/desk/callbacks"): (lambda c, h, r: _get(c, "/desk/callbacks", h), 200),
        ("GET", "/ws/desk"): (lambda c, h, r: _ws(c, h, "/ws/desk"), 101),
        ("GET", "/ws/cases"): (lambda c, h, r: _ws(c, h, "/ws/cases"), 101),
        ("GET", "/api/desk/pop"): (lambda c, h, r: _get(c, "/api/desk/pop", h), 200),
        # No pop to dismiss and no such call: the role check passed when the answer is 404.
        ("POST", "/api/desk/pop/{linkedid}/dismiss"): (
            lambda c, h, r: _post(c, "/api/desk/pop/none/dismiss", h),
            404,
        ),
        ("GET", "/api/desk/form"): (lambda c, h, r: _get(c, "/api/desk/form", h), 200),
        ("GET", "/api/desk/drafts"): (lambda c, h, r: _get(c, "/api/desk/drafts", h), 200),
        ("GET", "/api/desk/similar"): (
            lambda c, h, r: _get(c, "/api/desk/similar?address=x&category=help", h),
            200,
        ),
        ("POST", "/api/desk/drafts/{linkedid}"): (
            lambda c, h, r: _post(c, "/api/desk/drafts/call-1", h, {"data": {}}),
            200,
        ),
        ("POST", "/api/desk/registrations"): (
            lambda c, h, r: _post(c, "/api/desk/registrations", h, DESK_FORM),
            404,
        ),
        ("GET", "/api/cases/inbox"): (lambda c, h, r: _get(c, "/api/cases/inbox", h), 200),
        ("GET", "/api/cases/{number}"): (read_case, 200),
        ("POST", "/api/cases/{number}/actions"): (act_on_case, 200),
        ("GET", "/recordings"): (lambda c, h, r: _get(c, "/recordings", h), 200),
        ("GET", "/blocklist"): (lambda c, h, r: _get(c, "/blocklist", h), 200),
        ("GET", "/qa"): (lambda c, h, r: _get(c, "/qa", h), 200),
        ("GET", "/api/qa/scorecard"): (lambda c, h, r: _get(c, "/api/qa/scorecard", h), 200),
        ("GET", "/api/qa/sample"): (lambda c, h, r: _get(c, "/api/qa/sample", h), 200),
        ("GET", "/api/qa/scores"): (lambda c, h, r: _get(c, "/api/qa/scores", h), 200),
        ("GET", "/api/qa/monthly"): (lambda c, h, r: _get(c, "/api/qa/monthly", h), 200),
        ("GET", "/api/qa/mine"): (lambda c, h, r: _get(c, "/api/qa/mine", h), 200),
        # No such call: the role check passed when the answer is 404.
        ("POST", "/api/qa/scores"): (
            lambda c, h, r: _post(c, "/api/qa/scores", h, {"call_id": 99999, "items": []}),
            400,
        ),
        ("GET", "/api/blocklist"): (lambda c, h, r: _get(c, "/api/blocklist", h), 200),
        ("POST", "/api/blocklist"): (
            lambda c, h, r: _post(
                c, "/api/blocklist", h, {"number": f"1380013{len(r):04d}", "reason": "骚扰"}
            ),
            201,
        ),
        ("POST", "/api/blocklist/{id}/remove"): (
            lambda c, h, r: _post(c, "/api/blocklist/99999/remove", h),
            404,
        ),
        ("GET", "/api/recordings"): (
            lambda c, h, r: _get(c, "/api/recordings?from=2026-11-25&to=2026-11-25", h),
            200,
        ),
        # No such call or call-back: the role check passed when the answer is 404.
        ("GET", "/api/recordings/calls/{id}/audio"): (
            lambda c, h, r: _get(c, "/api/recordings/calls/1/audio", h),
            404,
        ),
        ("GET", "/api/recordings/callbacks/{id}/audio"): (
            lambda c, h, r: _get(c, "/api/recordings/callbacks/1/audio", h),
            404,
        ),
        ("GET", "/cases"): (lambda c, h, r: _get(c, "/cases", h), 200),
        ("GET", "/api/workflow"): (lambda c, h, r: _get(c, "/api/workflow", h), 200),
        ("GET", "/api/units"): (lambda c, h, r: _get(c, "/api/units", h), 200),
        ("GET", "/api/chases"): (lambda c, h, r: _get(c, "/api/chases", h), 200),
        ("POST", "/api/cases"): (
            lambda c, h, r: _post(c, "/api/cases", h, {"category": "help", "content": "x"}),
            201,
        ),
        ("GET", "/api/cases/{number}/similar"): (similar_cases, 200),
        # A new case has no answer to call back about: past the role check, the workflow's 409.
        ("POST", "/api/cases/{number}/call-back"): (call_back, 409),
        # This app has no attachment directory: past the role check, 503.
        ("POST", "/api/attachments"): (lambda c, h, r: _post(c, "/api/attachments", h), 503),
        ("GET", "/api/attachments/{digest}"): (
            lambda c, h, r: _get(c, "/api/attachments/" + "0" * 64, h),
            503,
        ),
        ("GET", "/api/case-kpis"): (
            lambda c, h, r: _get(c, "/api/case-kpis?from=2026-11-01&to=2026-11-30", h),
            200,
        ),
        ("GET", "/api/case-policy"): (lambda c, h, r: _get(c, "/api/case-policy", h), 200),
        ("POST", "/api/case-policy"): (
            lambda c, h, r: _post(c, "/api/case-policy", h, {"preset": "county", "reason": "x"}),
            200,
        ),
        # Listen / whisper / barge: this app has no PBX, so the roles that pass get 503.
        ("POST", "/api/spy"): (
            lambda c, h, r: _post(c, "/api/spy", h, {"agent": "pbx1|PJSIP/1001", "mode": "listen"}),
            503,
        ),
        ("GET", "/api/spy/log"): (lambda c, h, r: _get(c, "/api/spy/log", h), 503),
        ("POST", "/api/spy/stop"): (lambda c, h, r: _post(c, "/api/spy/stop", h), 503),
        # The supervisor console: its pages, and the routes they added (404: past the role
        # check, nothing by that id; 400: past it, a body the route refuses).
        ("GET", "/console"): (lambda c, h, r: _get(c, "/console", h), 200),
        ("GET", "/console/incidents"): (lambda c, h, r: _get(c, "/console/incidents", h), 200),
        ("GET", "/console/exclusions"): (lambda c, h, r: _get(c, "/console/exclusions", h), 200),
        ("GET", "/console/kpi"): (lambda c, h, r: _get(c, "/console/kpi", h), 200),
        ("GET", "/console/users"): (lambda c, h, r: _get(c, "/console/users", h), 200),
        ("GET", "/console/reports/daily"): (
            lambda c, h, r: _get(c, "/console/reports/daily", h),
            200,
        ),
        ("GET", "/console/reports/weekly"): (
            lambda c, h, r: _get(c, "/console/reports/weekly", h),
            200,
        ),
        ("GET", "/console/reports/monthly"): (
            lambda c, h, r: _get(c, "/console/reports/monthly", h),
            200,
        ),
        ("GET", "/api/reports"): (
            lambda c, h, r: _get(c, "/api/reports?kind=daily&date=2026-11-23", h),
            200,
        ),
        ("GET", "/api/reports/export"): (
            lambda c, h, r: _get(
                c, "/api/reports/export?kind=daily&date=2026-11-23&format=xlsx", h
            ),
            200,
        ),
        ("GET", "/api/reports/drill"): (
            lambda c, h, r: _get(
                c, "/api/reports/drill?from=2026-11-23&to=2026-11-23&figure=offered", h
            ),
            200,
        ),
        ("GET", "/console/access-log"): (lambda c, h, r: _get(c, "/console/access-log", h), 200),
        ("GET", "/console/staffing"): (lambda c, h, r: _get(c, "/console/staffing", h), 200),
        # Early warning and the staffing planner are not running in this app: past the role
        # check, 503.
        ("GET", "/api/warnings"): (lambda c, h, r: _get(c, "/api/warnings", h), 503),
        ("POST", "/api/warnings/{id}/accept"): (
            lambda c, h, r: _post(c, "/api/warnings/w1/accept", h, {}),
            503,
        ),
        ("POST", "/api/warnings/{id}/dismiss"): (
            lambda c, h, r: _post(c, "/api/warnings/w1/dismiss", h, {}),
            503,
        ),
        ("GET", "/api/staffing"): (
            lambda c, h, r: _get(c, "/api/staffing?date=2026-12-03", h),
            503,
        ),
        ("POST", "/api/staffing/plan"): (
            lambda c, h, r: _post(c, "/api/staffing/plan", h, {"date": "2026-12-03"}),
            503,
        ),
        ("GET", "/api/incidents/{id}/merged"): (
            lambda c, h, r: _get(c, "/api/incidents/nope/merged", h),
            404,
        ),
        ("POST", "/api/kpi/exclusions/{id}/remove"): (
            lambda c, h, r: _post(c, "/api/kpi/exclusions/999/remove", h),
            404,
        ),
        ("GET", "/api/kpi/export"): (
            lambda c, h, r: _get(c, "/api/kpi/export?from=2026-11-01&to=2026-11-02", h),
            200,
        ),
        ("GET", "/api/users"): (lambda c, h, r: _get(c, "/api/users", h), 200),
        ("POST", "/api/users"): (
            lambda c, h, r: _post(c, "/api/users", h, {"username": "x1", "role": "agent"}),
            400,
        ),
        ("POST", "/api/users/{username}/disable"): (
            lambda c, h, r: _post(c, "/api/users/nobody/disable", h),
            404,
        ),
        ("POST", "/api/users/{username}/enable"): (
            lambda c, h, r: _post(c, "/api/users/nobody/enable", h),
            404,
        ),
        ("POST", "/api/users/{username}/password"): (
            lambda c, h, r: _post(c, "/api/users/nobody/password", h, {}),
            400,
        ),
        ("POST", "/api/users/{username}/role"): (
            lambda c, h, r: _post(c, "/api/users/nobody/role", h, {"role": "agent"}),
            404,
        ),
    }


async def test_each_role_gets_exactly_its_routes(aiohttp_client: Any, store: TicketStore) -> None:
    incidents = FakeIncidents()
    client = await aiohttp_client(create_app(FakeLive(), healthy, store=store, incidents=incidents))
    table = requests(incidents, store)
    guarded = {key for key, roles in ROUTE_ROLES.items() if roles is not PUBLIC}
    assert set(table) == guarded, "a guarded route has no request in this test"
    wrong = []
    for role in ROLES:
        headers = await bearer(store, f"user-{role}", role)
        for key, (send, success) in table.items():
            expected = success if role in ROUTE_ROLES[key] else 403
            status = await send(client, headers, role)
            if status != expected:
                wrong.append(f"{role} {key}: {status}, expected {expected}")
    assert wrong == []


async def test_anonymous_callers_get_401_and_pages_redirect_to_login(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await aiohttp_client(
        create_app(FakeLive(), healthy, store=store, incidents=FakeIncidents())
    )
    table = requests(FakeIncidents())
    for (method, path), (send, _) in table.items():
        pages = ("/", "/desk", "/desk/callbacks", "/recordings", "/cases", "/blocklist", "/qa",
                 "/supervisor/desk")  # fmt: skip
        if path in pages or path.startswith("/console"):  # pages: the redirect below
            continue
        status = await send(client, {}, "anonymous")
        assert status == 401, (method, path)
    page = await client.get("/?x=1", allow_redirects=False)
    assert page.status == 302
    location = URL(page.headers["Location"])
    assert location.path == "/login" and location.query["next"] == "/?x=1"
    api = await client.get("/api/wallboard")
    assert api.headers["WWW-Authenticate"].startswith("Bearer")
    assert CALLER not in await api.text()


async def test_a_wrong_or_malformed_bearer_token_is_anonymous(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await aiohttp_client(create_app(FakeLive(), healthy, store=store))
    good = (await bearer(store, "svc", "supervisor"))["Authorization"]
    for header in (good[:-2] + "xx", "Bearer nonsense", "Basic dXNlcjpwdw==", good + "x"):
        response = await client.get("/api/wallboard", headers={"Authorization": header})
        assert response.status == 401, header
    await store.set_active("svc", False)
    response = await client.get("/api/wallboard", headers={"Authorization": good})
    assert response.status == 401


async def test_public_routes_answer_without_login(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(FakeLive(), healthy))
    for path in ("/login", "/healthz", "/static/login.css", "/static/wallboard.js"):
        response = await client.get(path)
        assert response.status == 200, path


async def test_without_a_store_nobody_gets_in(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(FakeLive(), healthy))
    response = await client.get("/api/wallboard", headers={"Authorization": "Bearer a.b"})
    assert response.status == 401


async def test_healthz_never_shows_a_caller_number(aiohttp_client: Any) -> None:
    def leaky() -> dict[str, Any]:
        return {
            "ami": {"ok": False, "error": f"channel PJSIP/{CALLER}-0001 hung up"},
            "ivr": {"ok": True, "last_caller": "+8613912345678"},
        }

    client = await aiohttp_client(create_app(FakeLive(), leaky))
    response = await client.get("/healthz")
    text = await response.text()
    assert response.status == 503
    assert CALLER not in text and "13912345678" not in text
    body = json.loads(text)
    assert body["degraded"]["ami"]["error"] == "channel PJSIP/138****8001-0001 hung up"
    assert body["components"]["ivr"]["last_caller"] == "+86139****5678"


async def test_a_cross_site_websocket_is_refused(aiohttp_client: Any, store: TicketStore) -> None:
    client = await aiohttp_client(create_app(FakeLive(), healthy, store=store))
    headers = await bearer(store, "screen", "wallboard")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/ws", headers={**headers, "Origin": "http://evil.example"})
    assert refused.value.status == 403
