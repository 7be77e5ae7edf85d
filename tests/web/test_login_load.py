"""Password hashing off the event loop, bounded; the login throttle by username and by
address, behind a trusted proxy too (issue 7 item 10)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hotline.settings import Settings, WebSettings
from hotline.web import auth as auth_module
from hotline.web.app import create_app
from hotline.web.auth_passwords import verify_password
from tests.web.auth_helpers import PASSWORD, add_password_user, form_csrf
from tests.web.conditions import wait_until
from tests.web.fake_live import FakeLive
from ticketing.store import TicketStore

Client = TestClient[Any, Any]


async def _client(aiohttp_client: Any, store: TicketStore, **web: Any) -> Client:
    settings = Settings(web=WebSettings(session_secret="s" * 32, **web))
    client: Client = await aiohttp_client(
        create_app(FakeLive(), dict, store=store, settings=settings)
    )
    return client


async def _login(
    client: Client, username: str, password: str, headers: dict[str, str] | None = None
) -> int:
    page = await client.get("/login")
    csrf = form_csrf(await page.text())
    response = await client.post(
        "/login",
        data={"username": username, "password": password, "csrf": csrf},
        headers=headers or {},
        allow_redirects=False,
    )
    return response.status


class GatedVerify:
    """verify_password that waits for the test's go-ahead, counting how many run at once."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.running = 0
        self.peak = 0
        self.started = 0
        self._lock = threading.Lock()

    def __call__(self, stored: str | None, password: str) -> tuple[bool, str | None]:
        with self._lock:
            self.running += 1
            self.started += 1
            self.peak = max(self.peak, self.running)
        try:
            # A safety net only: the test opens the gate itself long before this.
            self.go.wait(timeout=20)
            return verify_password(stored, password)
        finally:
            with self._lock:
                self.running -= 1


async def test_hashing_does_not_block_the_loop_and_is_bounded(
    aiohttp_client: Any, store: TicketStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_password_user(store, "wang", "supervisor")
    client = await _client(aiohttp_client, store, password_hash_threads=2)
    gate = GatedVerify()
    monkeypatch.setattr(auth_module, "verify_password", gate)
    logins = [asyncio.create_task(_login(client, "wang", PASSWORD)) for _ in range(5)]
    await wait_until(lambda: gate.started >= 1, what="a login is hashing")
    # While hashes are in progress the loop still serves everyone else.
    health = await asyncio.wait_for(client.get("/healthz"), 5)
    assert health.status == 200
    assert not any(login.done() for login in logins)
    await wait_until(lambda: gate.started >= 2, what="two logins hashing at once")
    gate.go.set()
    assert await asyncio.gather(*logins) == [303] * 5
    assert gate.peak == 2  # no more hashes at once than the bound


async def test_failures_are_counted_by_username_and_by_address(
    aiohttp_client: Any, store: TicketStore
) -> None:
    await add_password_user(store, "li", "agent")
    client = await _client(
        aiohttp_client, store, login_max_failures=3, login_max_failures_per_address=9
    )
    # One username from many addresses is still one username (behind a proxy we trust).
    for _ in range(3):
        assert await _login(client, "li", "wrong") == 401
    assert await _login(client, "li", PASSWORD) == 429
    # Many usernames from one address (li's 3 count too): the address is locked out.
    for n in range(6):
        assert await _login(client, f"user{n}", "wrong") == 401
    assert await _login(client, "someone-else", "wrong") == 429


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    aiohttp_client: Any, store: TicketStore
) -> None:
    await add_password_user(store, "zhao", "agent")
    # Without a trusted proxy, a forged X-Forwarded-For does not get round the address limit.
    client = await _client(
        aiohttp_client, store, login_max_failures=50, login_max_failures_per_address=3
    )
    for n in range(3):
        forged = {"X-Forwarded-For": f"10.0.0.{n}"}
        assert await _login(client, f"name{n}", "wrong", forged) == 401
    assert await _login(client, "zhao", PASSWORD, {"X-Forwarded-For": "10.9.9.9"}) == 429


async def test_behind_a_trusted_proxy_each_client_address_counts_alone(
    aiohttp_client: Any, store: TicketStore
) -> None:
    await add_password_user(store, "sun", "agent")
    client = await _client(
        aiohttp_client,
        store,
        login_max_failures=50,
        login_max_failures_per_address=3,
        trusted_proxies=["127.0.0.1/32"],
    )
    attacker = {"X-Forwarded-For": "203.0.113.7"}
    for n in range(3):
        assert await _login(client, f"name{n}", "wrong", attacker) == 401
    assert await _login(client, "sun", PASSWORD, attacker) == 429
    # Another client behind the same proxy is not locked out, and the log names it.
    assert await _login(client, "sun", PASSWORD, {"X-Forwarded-For": "198.51.100.2"}) == 303
    entry = (await store.access_log(actor="sun"))[0]
    assert (entry["action"], entry["remote"]) == ("login", "198.51.100.2")
    # A forged hop in front of the real client does not change who the proxy saw.
    spoofed = {"X-Forwarded-For": "198.51.100.2, 203.0.113.7"}
    assert await _login(client, "sun", PASSWORD, spoofed) == 429
