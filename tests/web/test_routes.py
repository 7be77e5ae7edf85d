"""One declaration per route: router, role table and documentation agree; error ids are
declared and documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hotline.web.app import create_app
from hotline.web.auth_table import ROLES
from hotline.web.errors import ERROR_IDS, error_body
from hotline.web.routes import ROUTES
from tests.web.auth_helpers import bearer
from tests.web.fake_live import FakeLive
from ticketing.store import TicketStore

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "hotline" / "web"


def test_every_declared_route_is_routed_and_every_routed_one_declared() -> None:
    app = create_app(FakeLive(), dict)
    routed = {
        ("GET" if route.method == "HEAD" else route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
    }
    assert routed == {route.key for route in app[ROUTES]}
    for route in app[ROUTES]:
        assert route.roles, route.key
        assert route.summary, route.key


def test_every_error_id_in_the_code_is_declared_and_documented() -> None:
    used: set[str] = set()
    for source in WEB.glob("*.py"):
        if source.name == "errors.py":
            continue
        code = source.read_text()
        used |= set(re.findall(r'"((?:auth|input|service|route|server)\.[a-z_]+)"', code))
        used |= set(re.findall(r'ApiError\(\s*"([a-z_.]+)"', code))
    assert used, "no error id found in hotline/web"
    assert used <= set(ERROR_IDS), used - set(ERROR_IDS)
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- error-ids:start -->")[1].split("<!-- error-ids:end -->")[0]
    documented = set(re.findall(r"^\| `([a-z]+\.[a-z_]+)` \|", table, re.MULTILINE))
    assert documented == set(ERROR_IDS)


def test_an_undeclared_error_id_cannot_be_answered() -> None:
    try:
        error_body("kpi.whatever", "x")
    except KeyError as error:
        assert "ERROR_IDS" in str(error)
    else:
        raise AssertionError("an undeclared id was accepted")


async def test_api_404_and_405_and_500_have_the_error_shape(aiohttp_client: Any) -> None:
    app = create_app(FakeLive(), dict)
    client = await aiohttp_client(app)
    missing = await client.get("/api/nothing-here")
    assert missing.status == 404
    assert (await missing.json())["error"]["id"] == "route.not_found"
    wrong = await client.delete("/api/wallboard")
    assert wrong.status == 405
    assert (await wrong.json())["error"]["id"] == "route.method"


async def test_openapi_lists_every_route_with_its_roles(
    aiohttp_client: Any, store: TicketStore
) -> None:
    app = create_app(FakeLive(), dict, store=store)
    client = await aiohttp_client(app)
    assert (await client.get("/api/openapi.json")).status == 401
    for role in ROLES:
        response = await client.get(
            "/api/openapi.json", headers=await bearer(store, f"u-{role}", role)
        )
        assert response.status == 200, role
    spec = await response.json()
    listed = {
        (method.upper(), path): operation["x-roles"]
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    }
    assert listed == {route.key: sorted(route.roles) for route in app[ROUTES]}
    assert spec["openapi"].startswith("3.")
