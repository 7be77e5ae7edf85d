"""Issue 7's web findings: open redirect after login, served package files, /healthz naming
unsaved incidents, and edge inputs that gave 500s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hotline.settings import Settings, WebSettings
from hotline.web.app import create_app
from hotline.web.errors import ERROR_IDS
from tests.web.auth_helpers import PASSWORD, add_password_user, bearer, form_csrf
from tests.web.fake_incidents import FakeIncidents
from tests.web.fake_live import FakeLive
from ticketing.store import TicketStore

Client = TestClient[Any, Any]


def healthy() -> dict[str, Any]:
    return {"ami": {"ok": True}}


async def _client(aiohttp_client: Any, store: TicketStore | None = None) -> Client:
    settings = Settings(web=WebSettings(session_secret="s" * 32))
    app = create_app(FakeLive(), healthy, store=store, settings=settings, incidents=FakeIncidents())
    client: Client = await aiohttp_client(app)
    return client


# What a browser makes of a Location header: tabs and newlines removed, backslashes read as
# slashes; each of these lands on another host, or is not a path of ours at all.
FOREIGN_NEXT = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "//evil.example",
    "https://evil.example/",
    "/\x00/evil.example",
    "/\x01",
    " //evil.example",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("next_path", FOREIGN_NEXT)
async def test_login_never_redirects_off_site(
    aiohttp_client: Any, store: TicketStore, next_path: str
) -> None:
    await add_password_user(store, "wang", "supervisor")
    client = await _client(aiohttp_client, store)
    page = await client.get("/login", params={"next": next_path})
    assert page.status in (200, 400)
    if page.status == 400:
        assert (await page.json())["error"]["field"] == "next"
        page = await client.get("/login")
    csrf = form_csrf(await page.text())
    response = await client.post(
        "/login",
        data={"username": "wang", "password": PASSWORD, "csrf": csrf, "next": next_path},
        allow_redirects=False,
    )
    if response.status == 400:
        assert (await response.json())["error"]["field"] == "next"
        return
    assert response.status == 303
    assert response.headers["Location"] == "/"


async def test_a_path_of_ours_is_still_followed(aiohttp_client: Any, store: TicketStore) -> None:
    await add_password_user(store, "wang", "supervisor")
    client = await _client(aiohttp_client, store)
    page = await client.get("/login", params={"next": "/api/kpi?from=2026-11-01&to=2026-11-02"})
    csrf = form_csrf(await page.text())
    response = await client.post(
        "/login",
        data={
            "username": "wang",
            "password": PASSWORD,
            "csrf": csrf,
            "next": "/api/kpi?from=2026-11-01&to=2026-11-02",
        },
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/api/kpi?from=2026-11-01&to=2026-11-02"


async def test_only_asset_files_are_served_from_static(aiohttp_client: Any) -> None:
    client = await _client(aiohttp_client)
    for path in ("/static/__init__.py", "/static/__pycache__/", "/static/../app.py"):
        response = await client.get(path)
        assert response.status == 404, path
    for path in ("/static/wallboard.css", "/static/wallboard.js", "/static/login.css"):
        response = await client.get(path)
        assert response.status == 200, path


async def test_healthz_says_how_many_incidents_are_unsaved_not_which(aiohttp_client: Any) -> None:
    def unsaved() -> dict[str, Any]:
        return {"incidents": {"ok": False, "unsaved": ["water-main-2026", "gas-leak-7"]}}

    client = await aiohttp_client(create_app(FakeLive(), unsaved))
    response = await client.get("/healthz")
    text = await response.text()
    assert response.status == 503
    assert "water-main-2026" not in text and "gas-leak-7" not in text
    assert (await response.json())["degraded"]["incidents"]["unsaved"] == 2


# ---- edge inputs: each a 400 naming the field, never a 500 ------------------------------


@pytest.fixture
async def any_store(db_url: str) -> AsyncIterator[TicketStore]:
    """The store on SQLite and on the real PostgreSQL (NUL is refused only by the latter)."""
    opened = await TicketStore.open(db_url)
    try:
        yield opened
    finally:
        await opened.close()


async def _expect_400(response: Any, field: str) -> None:
    body = await response.json()
    assert response.status == 400, body
    assert body["error"]["field"] == field, body
    assert body["error"]["id"] in ERROR_IDS


EDGE_DAYS = ("0001-01-01", "9999-12-31", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00")


@pytest.mark.parametrize("day", EDGE_DAYS)
async def test_edge_dates_are_400_naming_the_field(
    aiohttp_client: Any, store: TicketStore, day: str
) -> None:
    client = await _client(aiohttp_client, store)
    admin = await bearer(store, "root", "admin")
    for path, params, field in (
        ("/api/kpi", {"from": day, "to": "2026-11-25"}, "from"),
        ("/api/kpi", {"from": "2026-11-25", "to": day}, "to"),
        ("/api/kpi/exclusions", {"from": day, "to": "2026-11-25"}, "from"),
        ("/api/kpi/exclusions", {"from": "2026-11-25", "to": day}, "to"),
        ("/api/access-log", {"since": day}, "since"),
    ):
        await _expect_400(await client.get(path, params=params, headers=admin), field)
    good = {"start": "2026-11-25T09:00:00+08:00", "end": "2026-11-25T10:00:00+08:00",
            "reason": "drill"}  # fmt: skip
    for field in ("start", "end"):
        response = await client.post(
            "/api/kpi/exclusions", json={**good, field: day}, headers=admin
        )
        await _expect_400(response, field)


async def test_limit_must_be_ascii_digits(aiohttp_client: Any, store: TicketStore) -> None:
    client = await _client(aiohttp_client, store)
    auditor = await bearer(store, "audit", "auditor")
    for limit in ("²", "١٢", "1e3", "-1", "0", "5001", "99999999999999999999"):
        response = await client.get("/api/access-log", params={"limit": limit}, headers=auditor)
        await _expect_400(response, "limit")
    assert (await client.get("/api/access-log?limit=7", headers=auditor)).status == 200


@pytest.mark.parametrize("path", ["/api/kpi/exclusions", "/api/incidents", "/api/kiosks"])
async def test_deeply_nested_json_is_400(
    aiohttp_client: Any, store: TicketStore, path: str
) -> None:
    client = await _client(aiohttp_client, store)
    sup = await bearer(store, "sup", "supervisor")
    json_headers = {**sup, "Content-Type": "application/json"}
    for body in ("[" * 100_000 + "]" * 100_000, '{"reason": ' + "[" * 200 + "]" * 200 + "}"):
        response = await client.post(path, data=body.encode(), headers=json_headers)
        await _expect_400(response, "body")


async def test_a_control_character_in_next_is_400(aiohttp_client: Any, store: TicketStore) -> None:
    client = await _client(aiohttp_client, store)
    for value in ("/\x00", "/a\x7fb", "/\x1b[31m"):
        await _expect_400(await client.get("/login", params={"next": value}), "next")


async def test_nul_in_text_is_400_on_every_store(
    aiohttp_client: Any, any_store: TicketStore
) -> None:
    store = any_store
    await add_password_user(store, "wang", "supervisor")
    client = await _client(aiohttp_client, store)
    admin = await bearer(store, "root", "admin")
    window = {"start": "2026-11-25T09:00:00+08:00", "end": "2026-11-25T10:00:00+08:00",
              "reason": "trunk\x00failure"}  # fmt: skip
    await _expect_400(
        await client.post("/api/kpi/exclusions", json=window, headers=admin), "reason"
    )
    params = {"from": "2026-11-25", "to": "2026-11-25", "queue": "general\x00"}
    await _expect_400(await client.get("/api/kpi", params=params, headers=admin), "queue")
    params = {"actor": "wa\x00ng"}
    await _expect_400(await client.get("/api/access-log", params=params, headers=admin), "actor")
    page = await client.get("/login")
    csrf = form_csrf(await page.text())
    response = await client.post(
        "/login",
        data={"username": "wa\x00ng", "password": PASSWORD, "csrf": csrf},
        allow_redirects=False,
    )
    await _expect_400(response, "username")
    # Nothing was stored, and the store still answers.
    assert (
        await store.exclusions_between(
            datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
        )
        == []
    )


async def test_non_ascii_csrf_tokens_are_refused_not_a_failure(
    aiohttp_client: Any, store: TicketStore
) -> None:
    # Found by the API fuzzer: compare_digest refuses non-ASCII str and raised TypeError.
    await add_password_user(store, "wang", "supervisor")
    client = await _client(aiohttp_client, store)
    await client.get("/login")
    response = await client.post(
        "/login",
        data={"username": "wang", "password": PASSWORD, "csrf": "令牌"},
        allow_redirects=False,
    )
    assert response.status == 403
    page = await client.get("/login")
    csrf = form_csrf(await page.text())
    signed = await client.post(
        "/login",
        data={"username": "wang", "password": PASSWORD, "csrf": csrf},
        allow_redirects=False,
    )
    assert signed.status == 303
    refused = await client.post("/logout", headers={"X-CSRF-Token": "令牌"})
    assert refused.status == 403
