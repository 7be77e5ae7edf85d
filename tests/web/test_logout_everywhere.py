"""A logout button on every page, and open WebSockets — the wallboard's /ws and the desk's
/ws/desk — closed when their user's session ends (logout) or the user is disabled."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient

from hotline.settings import Settings, WebSettings
from hotline.web.app import STATIC, create_app
from hotline.web.auth_sessions import SESSION_COOKIE
from hotline.web.routes import ROUTES
from tests.web.auth_helpers import PASSWORD, add_password_user, session_csrf, submit_login
from tests.web.fake_live import FakeLive
from ticketing.store import TicketStore

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext

Client = TestClient[Any, Any]
# Pages for people who are not signed in yet: nothing to log out of.
NOT_SIGNED_IN = {"login.html"}


def test_every_page_has_a_logout_button() -> None:
    pages = sorted(p for p in STATIC.glob("*.html") if p.name not in NOT_SIGNED_IN)
    assert len(pages) >= 8
    for page in pages:
        html = page.read_text("utf-8")
        own = 'id="logout-form"' in html and 'action="/logout"' in html
        shared = '<script src="/static/logout.js"></script>' in html
        assert own or shared, f"{page.name} has no logout button"


async def test_every_page_route_serves_a_page_with_one(
    aiohttp_client: Any, store: TicketStore
) -> None:
    """Each signed-in HTML page route, fetched by a role it is for, has the button."""
    client = await _client(aiohttp_client, store)
    pages = [
        r
        for r in client.app[ROUTES]
        if r.page
        and r.method == "GET"
        and "{" not in r.path
        and not r.path.startswith(("/ws", "/static", "/kiosk", "/login", "/api/"))
    ]  # fmt: skip  (/api/ "pages" are file downloads, not HTML)
    assert {r.path for r in pages} >= {"/", "/desk", "/desk/callbacks"}
    signed_in: str | None = None
    for route in sorted(pages, key=lambda r: sorted(r.roles)[0]):
        role = sorted(route.roles)[0]
        if role != signed_in:
            if await store.get_user(role) is None:
                await add_password_user(store, role, role)
            client.session.cookie_jar.clear()
            assert (await submit_login(client, role, PASSWORD)).status == 303
            signed_in = role
        response = await client.get(route.path, allow_redirects=False)
        assert response.status == 200, (route.path, role, response.status)
        html = await response.text()
        assert 'id="logout-form"' in html or "/static/logout.js" in html, route.path


async def _client(aiohttp_client: Any, store: TicketStore) -> Client:
    settings = Settings(web=WebSettings(session_secret="s" * 32, session_recheck_s=0.05))
    client: Client = await aiohttp_client(
        create_app(FakeLive(), dict, store=store, settings=settings)
    )
    return client


async def _closed(ws: Any, within: float = 5.0) -> bool:
    try:
        async with asyncio.timeout(within):
            while True:  # pushes may arrive before the close
                message = await ws.receive()
                if message.type in {WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING}:
                    return True
    except TimeoutError:
        return False


async def _sockets(client: Client, username: str) -> tuple[Any, Any]:
    response = await submit_login(client, username, PASSWORD)
    assert response.status == 303
    wall = await client.ws_connect("/ws")
    assert (await wall.receive_json(timeout=5))["type"] == "wallboard"
    desk = await client.ws_connect("/ws/desk")
    assert (await desk.receive_json(timeout=5))["type"] == "hello"
    return wall, desk


async def test_logout_closes_the_wallboard_and_desk_sockets(
    aiohttp_client: Any, store: TicketStore
) -> None:
    await add_password_user(store, "li", "agent")
    client = await _client(aiohttp_client, store)
    wall, desk = await _sockets(client, "li")
    csrf = await session_csrf(client)
    out = await client.post("/logout", data={"csrf": csrf}, allow_redirects=False)
    assert out.status == 303
    assert await _closed(wall) and await _closed(desk)


async def test_disabling_the_user_closes_both_sockets(
    aiohttp_client: Any, store: TicketStore
) -> None:
    await add_password_user(store, "wang", "supervisor")
    await add_password_user(store, "zhou", "agent")
    client = await _client(aiohttp_client, store)
    wall, desk = await _sockets(client, "wang")
    client.session.cookie_jar.clear()
    other_wall, other_desk = await _sockets(client, "zhou")
    await store.set_active("wang", False)  # `hotline user disable wang`, another process
    assert await _closed(wall) and await _closed(desk)
    # Another user's sockets stay open.
    assert not await _closed(other_wall, within=0.3)
    assert not other_desk.closed
    for ws in (other_wall, other_desk):
        await ws.close()


async def test_logout_button_on_a_console_page_in_chromium(
    store: TicketStore, chromium: BrowserContext
) -> None:
    await add_password_user(store, "li", "agent")
    settings = Settings(web=WebSettings(session_secret="s" * 32))
    runner = web.AppRunner(create_app(FakeLive(), dict, store=store, settings=settings))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    url = f"http://{host}:{port}"
    try:
        page = await chromium.new_page()
        await page.goto(url + "/desk/callbacks")
        await page.wait_for_url(re.compile(r"/login\?next="), timeout=10_000)
        await page.fill("#username", "li")
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(url + "/desk/callbacks", timeout=10_000)
        # The shared button gets the session's CSRF token, then logs out for real.
        await page.wait_for_function(
            "document.getElementById('logout-csrf') && document.getElementById('logout-csrf').value"
        )
        cookie = next(c for c in await chromium.cookies() if c["name"] == SESSION_COOKIE)
        await page.click("#logout")
        await page.wait_for_url(re.compile(r"/login"), timeout=10_000)
        assert await store.get_user("li") is not None
        # The old cookie is dead.
        await page.goto(url + "/desk/callbacks")
        await page.wait_for_url(re.compile(r"/login\?next="), timeout=10_000)
        assert cookie["value"]
    finally:
        await runner.cleanup()
