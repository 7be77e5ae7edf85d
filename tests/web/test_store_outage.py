"""The user database goes away: logins and API calls get a clear 503, nobody gets in."""

from __future__ import annotations

from typing import Any

from hotline.settings import Settings, WebSettings
from hotline.web.app import create_app
from tests.pg import PostgresServer
from tests.web.auth_helpers import PASSWORD, add_password_user, bearer, submit_login
from tests.web.fake_live import FakeLive
from ticketing.store import TicketStore


async def test_login_and_api_answer_503_while_postgres_is_down(
    aiohttp_client: Any, postgres_server: PostgresServer, postgres_url: str
) -> None:
    store = await TicketStore.open(postgres_url)
    try:
        await add_password_user(store, "wang", "supervisor")
        token = await bearer(store, "svc", "supervisor")
        settings = Settings(web=WebSettings(session_secret="x" * 32))
        client = await aiohttp_client(
            create_app(FakeLive(), lambda: {"db": {"ok": True}}, store=store, settings=settings)
        )
        with postgres_server.stopped():
            login = await submit_login(client, "wang", PASSWORD)
            assert login.status == 503
            assert "user database is unavailable" in await login.text()
            api = await client.get("/api/wallboard", headers=token)
            assert api.status == 503
            error = (await api.json())["error"]
            assert error == {"id": "auth.store_unavailable", "message": "user store unavailable"}
            assert (await client.get("/healthz")).status == 200  # public, needs no database
        # Back up: the same client logs in, and the login is in the access log.
        assert (await submit_login(client, "wang", PASSWORD)).status == 303
        assert (await client.get("/api/session")).status == 200
        assert [e["action"] for e in await store.access_log(actor="wang")] == ["login"]
    finally:
        await store.close()
