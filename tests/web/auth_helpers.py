"""Log test clients in the way browsers and machines do: the login form, kiosk links, tokens."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from hotline.web.auth_accounts import create_kiosk, create_token_account
from hotline.web.auth_passwords import hash_password
from ticketing.store import TicketStore

PASSWORD = "correct horse battery staple"


async def open_store(tmp_path: Path) -> TicketStore:
    return await TicketStore.open(f"sqlite+aiosqlite:///{tmp_path / 'web.sqlite3'}")


async def add_password_user(
    store: TicketStore, username: str, role: str, password: str = PASSWORD
) -> None:
    await store.add_user(username, username.title(), role, hash_password(password))


def form_csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the login page has no CSRF field"
    return found.group(1)


async def submit_login(
    client: TestClient[Any, Any], username: str, password: str, next_path: str = "/"
) -> Any:
    """GET the login page, then POST its form as a browser would; redirects not followed."""
    page = await client.get(f"/login?next={next_path}")
    assert page.status == 200
    csrf = form_csrf(await page.text())
    return await client.post(
        "/login",
        data={"username": username, "password": password, "csrf": csrf, "next": next_path},
        allow_redirects=False,
    )


async def session_csrf(client: TestClient[Any, Any]) -> str:
    response = await client.get("/api/session")
    assert response.status == 200
    csrf: str = (await response.json())["csrf"]
    return csrf


async def kiosk_login(client: TestClient[Any, Any], store: TicketStore) -> str:
    """Create a kiosk account and open its link; the client then holds a wallboard session."""
    token = await create_kiosk(store, "test screen")
    response = await client.get(f"/kiosk?token={token}", allow_redirects=False)
    assert response.status == 303, await response.text()
    return token


async def bearer(store: TicketStore, username: str, role: str) -> dict[str, str]:
    token = await create_token_account(store, username, role, username)
    return {"Authorization": f"Bearer {token}"}
