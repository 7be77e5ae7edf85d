"""Sessions end when they should: logout, a password change and disabling the user end every
session of that user, open WebSockets included (issue 7 item 5)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from hotline.settings import Settings, WebSettings
from hotline.web.app import PUSHER, create_app
from hotline.web.auth_passwords import hash_password
from hotline.web.auth_sessions import SESSION_COOKIE
from tests.web.auth_helpers import PASSWORD, add_password_user, session_csrf, submit_login
from tests.web.conditions import wait_until
from tests.web.fake_live import FakeLive
from ticketing.store import TicketStore

Client = TestClient[Any, Any]


async def _client(aiohttp_client: Any, store: TicketStore) -> Client:
    settings = Settings(web=WebSettings(session_secret="s" * 32, session_recheck_s=0.05))
    client: Client = await aiohttp_client(
        create_app(FakeLive(), dict, store=store, settings=settings)
    )
    return client


async def _signed_in(client: Client, username: str) -> str:
    response = await submit_login(client, username, PASSWORD)
    assert response.status == 303
    return str(response.cookies[SESSION_COOKIE].value)


def _replay(client: Client, cookie: str) -> None:
    """What a copied cookie (a stolen one, another tab) does: present the same value again."""
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: cookie})


async def test_a_cookie_is_dead_after_logout(aiohttp_client: Any, store: TicketStore) -> None:
    await add_password_user(store, "wang", "supervisor")
    client = await _client(aiohttp_client, store)
    cookie = await _signed_in(client, "wang")
    csrf = await session_csrf(client)
    out = await client.post("/logout", data={"csrf": csrf}, allow_redirects=False)
    assert out.status == 303
    _replay(client, cookie)
    assert (await client.get("/api/session")).status == 401
    # Logging in again gives a working session.
    await _signed_in(client, "wang")
    assert (await client.get("/api/session")).status == 200


async def test_a_password_change_ends_sessions(aiohttp_client: Any, store: TicketStore) -> None:
    await add_password_user(store, "li", "agent")
    client = await _client(aiohttp_client, store)
    cookie = await _signed_in(client, "li")
    await store.set_password_hash("li", hash_password(PASSWORD))  # `hotline user passwd`
    _replay(client, cookie)
    assert (await client.get("/api/session")).status == 401


async def test_disabling_ends_sessions_for_good(aiohttp_client: Any, store: TicketStore) -> None:
    await add_password_user(store, "zhao", "auditor")
    client = await _client(aiohttp_client, store)
    cookie = await _signed_in(client, "zhao")
    await store.set_active("zhao", False)
    await store.set_active("zhao", True)  # enabled again: the old session stays dead
    _replay(client, cookie)
    assert (await client.get("/api/session")).status == 401


async def _closed(ws: Any, within: float = 5.0) -> bool:
    """True once the server closes ``ws``; False if it is still open after ``within`` s."""
    try:
        async with asyncio.timeout(within):
            while True:  # updates may arrive before the close
                message = await ws.receive()
                if message.type in {WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING}:
                    return True
    except TimeoutError:
        return False


async def test_logout_closes_the_users_open_websockets(
    aiohttp_client: Any, store: TicketStore
) -> None:
    await add_password_user(store, "chen", "agent")
    await add_password_user(store, "zhou", "agent")
    client = await _client(aiohttp_client, store)
    await _signed_in(client, "zhou")
    other = await client.ws_connect("/ws")
    await other.receive_json(timeout=5)
    client.session.cookie_jar.clear()
    await _signed_in(client, "chen")
    ws = await client.ws_connect("/ws")
    await ws.receive_json(timeout=5)
    csrf = await session_csrf(client)
    await client.post("/logout", data={"csrf": csrf}, allow_redirects=False)
    assert await _closed(ws)
    # Another user's screen stays open.
    pusher = client.app[PUSHER]
    await wait_until(lambda: len(pusher.clients) == 1, what="only zhou's screen left")
    assert not other.closed
    await other.close()


async def test_a_password_change_elsewhere_closes_open_websockets(
    aiohttp_client: Any, store: TicketStore
) -> None:
    # The change comes from another process (`hotline user passwd` / `disable`): the app
    # learns it by re-checking its open screens' sessions.
    await add_password_user(store, "sun", "supervisor")
    await add_password_user(store, "ma", "supervisor")
    client = await _client(aiohttp_client, store)
    await _signed_in(client, "sun")
    first = await client.ws_connect("/ws")
    await first.receive_json(timeout=5)
    await store.set_password_hash("sun", hash_password("another long password"))
    assert await _closed(first)
    client.session.cookie_jar.clear()
    await _signed_in(client, "ma")
    second = await client.ws_connect("/ws")
    await second.receive_json(timeout=5)
    await store.set_active("ma", False)
    assert await _closed(second)
