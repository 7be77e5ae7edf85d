"""Logging in and out through the form, the throttle, CSRF, kiosk links and the access log."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from hotline.settings import Settings, WebSettings
from hotline.web.app import create_app
from hotline.web.auth_accounts import create_token_account
from hotline.web.auth_passwords import hash_password
from hotline.web.auth_sessions import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from tests.web.auth_helpers import (
    PASSWORD,
    add_password_user,
    form_csrf,
    kiosk_login,
    session_csrf,
    submit_login,
)
from tests.web.fake_incidents import FakeIncidents
from tests.web.fake_live import FakeLive
from ticketing.store import TicketStore

Client = TestClient[Any, Any]


def healthy() -> dict[str, Any]:
    return {"ami": {"ok": True}}


async def _client(
    aiohttp_client: Any, store: TicketStore, secret: str = "s" * 32, **web: Any
) -> Client:
    settings = Settings(web=WebSettings(session_secret=secret, **web))
    app = create_app(FakeLive(), healthy, store=store, settings=settings, incidents=FakeIncidents())
    client: Client = await aiohttp_client(app)
    return client


async def _actions(store: TicketStore, actor: str) -> list[str]:
    return [entry["action"] for entry in reversed(await store.access_log(actor=actor))]


async def test_login_sets_a_safe_session_cookie_and_logout_ends_it(
    aiohttp_client: Any, store: TicketStore
) -> None:
    await add_password_user(store, "wang", "supervisor")
    client = await _client(aiohttp_client, store)
    response = await submit_login(client, "Wang ", PASSWORD, next_path="/api/incidents")
    assert response.status == 303
    assert response.headers["Location"] == "/api/incidents"
    cookie = response.cookies[SESSION_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]
    assert PASSWORD not in cookie.value
    session = await client.get("/api/session")
    assert (await session.json())["role"] == "supervisor"

    # Logging out needs the session's CSRF token, like every POST from a browser.
    refused = await client.post("/logout", allow_redirects=False)
    assert refused.status == 403
    csrf = await session_csrf(client)
    out = await client.post("/logout", data={"csrf": csrf}, allow_redirects=False)
    assert out.status == 303 and out.headers["Location"] == "/login"
    assert (await client.get("/api/session")).status == 401
    assert await _actions(store, "wang") == ["login", "logout"]
    entry = (await store.access_log(actor="wang"))[0]
    assert entry["role"] == "supervisor" and entry["remote"] == "127.0.0.1"


async def test_cookie_is_secure_when_configured(aiohttp_client: Any, store: TicketStore) -> None:
    await add_password_user(store, "li", "agent")
    client = await _client(aiohttp_client, store, cookie_secure=True)
    page = await client.get("/login")
    login_cookie = page.cookies[LOGIN_CSRF_COOKIE]
    assert login_cookie["secure"] is True and login_cookie["samesite"] == "Strict"
    # The test server is plain HTTP, where the client rightly keeps Secure cookies to itself:
    # send it by hand, as a browser would over HTTPS.
    response = await client.post(
        "/login",
        data={"username": "li", "password": PASSWORD, "csrf": form_csrf(await page.text())},
        headers={"Cookie": f"{LOGIN_CSRF_COOKIE}={login_cookie.value}"},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.cookies[SESSION_COOKIE]["secure"] is True


async def test_wrong_password_unknown_user_and_disabled_user_all_fail_the_same(
    aiohttp_client: Any, store: TicketStore
) -> None:
    await add_password_user(store, "zhao", "agent")
    await add_password_user(store, "gone", "agent")
    await store.set_active("gone", False)
    client = await _client(aiohttp_client, store)
    for username, password in (("zhao", "wrong password"), ("nobody", PASSWORD),
                               ("gone", PASSWORD)):  # fmt: skip
        response = await submit_login(client, username, password)
        assert response.status == 401, username
        text = await response.text()
        assert "Wrong username or password" in text
        assert SESSION_COOKIE not in response.cookies
    log = {e["actor"]: e for e in await store.access_log()}
    assert log["zhao"]["action"] == "login.failed"
    assert log["zhao"]["detail"] == {"reason": "wrong"}
    assert log["nobody"]["detail"] == {"reason": "unknown user"}
    assert log["gone"]["detail"] == {"reason": "disabled"}


async def test_repeated_failures_lock_that_username_out(
    aiohttp_client: Any, store: TicketStore
) -> None:
    await add_password_user(store, "chen", "agent")
    await add_password_user(store, "zhou", "agent")
    client = await _client(aiohttp_client, store, login_max_failures=3)
    for _ in range(3):
        assert (await submit_login(client, "chen", "not it")).status == 401
    locked = await submit_login(client, "chen", PASSWORD)  # even the right password
    assert locked.status == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "Too many failed logins" in await locked.text()
    # The lock is per username and address: another user from here still gets in.
    assert (await submit_login(client, "zhou", PASSWORD)).status == 303
    assert await _actions(store, "chen") == ["login.failed"] * 3 + ["login.throttled"]


async def test_login_without_the_form_csrf_token_is_refused(
    aiohttp_client: Any, store: TicketStore
) -> None:
    await add_password_user(store, "sun", "agent")
    client = await _client(aiohttp_client, store)
    # As a cross-site form would: no token, or a token that is not this browser's cookie.
    other = await _client(aiohttp_client, store)
    foreign = form_csrf(await (await other.get("/login")).text())
    for fields in ({}, {"csrf": "forged"}, {"csrf": foreign}):
        response = await client.post(
            "/login",
            data={"username": "sun", "password": PASSWORD, **fields},
            allow_redirects=False,
        )
        assert response.status == 403, fields
        assert SESSION_COOKIE not in response.cookies
    assert await _actions(store, "sun") == ["login.csrf_refused"] * 3


async def test_browser_posts_to_the_api_need_the_csrf_header(
    aiohttp_client: Any, store: TicketStore
) -> None:
    await add_password_user(store, "he", "supervisor")
    client = await _client(aiohttp_client, store)
    await submit_login(client, "he", PASSWORD)
    window = {"start": "2026-11-25T09:00:00+08:00", "end": "2026-11-25T10:00:00+08:00",
              "reason": "演练 drill"}  # fmt: skip
    refused = await client.post("/api/kpi/exclusions", json=window)
    assert refused.status == 403
    assert (await refused.json())["error"]["id"] == "auth.csrf"
    csrf = await session_csrf(client)
    accepted = await client.post("/api/kpi/exclusions", json=window, headers={"X-CSRF-Token": csrf})
    assert accepted.status == 201


async def test_passwords_are_argon2_and_rehashed_when_the_parameters_change(
    aiohttp_client: Any, store: TicketStore
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    await store.add_user("xu", "Xu", "agent", hash_password(PASSWORD, weak))
    client = await _client(aiohttp_client, store)
    before = (await store.get_user("xu") or {})["password_hash"]
    assert before.startswith("$argon2id$") and "m=8," in before
    assert (await submit_login(client, "xu", PASSWORD)).status == 303
    after = (await store.get_user("xu") or {})["password_hash"]
    assert after != before and after.startswith("$argon2id$") and "m=65536," in after
    assert PASSWORD not in after
    assert not PasswordHasher().check_needs_rehash(after)


async def test_a_disabled_user_loses_the_open_session(
    aiohttp_client: Any, store: TicketStore
) -> None:
    await add_password_user(store, "ma", "agent")
    client = await _client(aiohttp_client, store)
    await submit_login(client, "ma", PASSWORD)
    assert (await client.get("/api/wallboard")).status == 200
    await store.set_active("ma", False)
    assert (await client.get("/api/wallboard")).status == 401


async def test_next_never_leaves_the_site(aiohttp_client: Any, store: TicketStore) -> None:
    await add_password_user(store, "gao", "agent")
    client = await _client(aiohttp_client, store)
    page = await client.get("/login", params={"next": "//evil.example/x"})
    assert page.status == 400
    assert (await page.json())["error"]["id"] == "input.next"


async def test_a_forged_session_cookie_is_ignored(aiohttp_client: Any, store: TicketStore) -> None:
    await add_password_user(store, "lin", "admin")
    client = await _client(aiohttp_client, store)
    signed = await submit_login(client, "lin", PASSWORD)
    value = signed.cookies[SESSION_COOKIE].value
    # Signed with another secret: a server with a different session_secret issued it.
    other = await _client(aiohttp_client, store, secret="t" * 32)
    other.session.cookie_jar.update_cookies({SESSION_COOKIE: value})
    assert (await other.get("/api/session")).status == 401
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: value})
    assert (await client.get("/api/session")).status == 200
    tampered = value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: tampered})
    assert (await client.get("/api/session")).status == 401


async def test_a_kiosk_link_grants_the_wallboard_only(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    token = await kiosk_login(client, store)
    assert (await client.get("/")).status == 200
    assert (await client.get("/api/wallboard")).status == 200
    assert (await client.get("/api/incidents")).status == 403
    assert (await client.get("/api/kpi?from=2026-11-25&to=2026-11-25")).status == 403
    kiosk = await client.get("/api/session")
    body = await kiosk.json()
    assert body["role"] == "wallboard"
    assert await _actions(store, body["username"]) == ["kiosk.login"]
    # The token is not a password: the login form refuses it.
    username, _, secret = token.rpartition(".")
    assert (await submit_login(client, username, secret)).status == 401


async def test_a_kiosk_link_with_another_role_or_a_bad_token_is_refused(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    supervisor_token = await create_token_account(store, "svc-bot", "supervisor", "bot")
    for token in (supervisor_token, "kiosk-0000." + "x" * 43, ""):
        response = await client.get(f"/kiosk?token={token}", allow_redirects=False)
        assert response.status == 403, token
        assert SESSION_COOKIE not in response.cookies
    actions = [e["action"] for e in await store.access_log()]
    assert actions == ["kiosk.refused"] * 3
