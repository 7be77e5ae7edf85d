"""The web application: the wallboard page, its JSON, its WebSocket, /healthz, the login
pages and the JSON service API.

Every route is guarded by hotline/web/auth.py against the role table in
hotline/web/auth_table.py; nothing here shows a caller's number unmasked.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from acd.kpi import KpiParams
from hotline.settings import KpiSettings, Settings, WebSettings
from hotline.web.api_audit import add_audit_routes
from hotline.web.api_incidents import INCIDENTS, IncidentSink, add_incident_routes
from hotline.web.api_kpi import KPI_PARAMS, WEB_STORE, add_kpi_routes
from hotline.web.auth import AUTH, Auth, add_auth_routes, guard
from hotline.web.auth_sessions import LoginThrottle, SessionCodec
from hotline.web.auth_store import WebStore
from hotline.web.push import WallboardPusher
from hotline.web.wallboard import LiveView, build_snapshot, mask_callers, mask_number

__all__ = [
    "PUSHER",
    "HealthCheck",
    "IncidentSink",
    "LiveView",
    "WebStore",
    "create_app",
    "health_report",
]

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"

PUSHER = web.AppKey("wallboard_pusher", WallboardPusher)
HealthCheck = Callable[[], dict[str, Any]]

_LIVE = web.AppKey("live_view", LiveView)
_HEALTH: web.AppKey[HealthCheck] = web.AppKey("health")


def health_report(health: HealthCheck) -> tuple[bool, dict[str, Any]]:
    """``(healthy, body)``; a component is healthy only if it says ``"ok": True``."""
    try:
        components = health()
    except Exception as error:
        log.exception("healthz: the health callable failed")
        components = {"health": {"ok": False, "error": f"{type(error).__name__}: {error}"}}
    degraded = {
        name: info
        for name, info in components.items()
        if not (isinstance(info, dict) and info.get("ok") is True)
    }
    # /healthz is public: whatever a component reports (an error text quoting a caller ID…),
    # no phone number leaves unmasked.
    body = {"ok": not degraded, "degraded": degraded, "components": components}
    return not degraded, _scrub(mask_callers(body))


_LONG_NUMBER = re.compile(r"\+?\d{7,}")


def _scrub(data: Any) -> Any:
    if isinstance(data, str):
        return _LONG_NUMBER.sub(lambda found: mask_number(found.group()), data)
    if isinstance(data, dict):
        return {key: _scrub(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_scrub(item) for item in data]
    return data


# Live views and health checks may hand over datetimes or Decimals: show them, don't fail.
_dumps = functools.partial(json.dumps, ensure_ascii=False, default=str)


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "wallboard.html", headers={"Cache-Control": "no-cache"})


async def _api_wallboard(request: web.Request) -> web.Response:
    return web.json_response(build_snapshot(request.app[_LIVE]), dumps=_dumps)


async def _healthz(request: web.Request) -> web.Response:
    healthy, body = health_report(request.app[_HEALTH])
    return web.json_response(body, status=200 if healthy else 503, dumps=_dumps)


async def _websocket(request: web.Request) -> web.StreamResponse:
    # Browsers send cookies with cross-site WebSocket handshakes too: accept only our pages.
    origin = request.headers.get("Origin")
    if origin is not None and origin.partition("://")[2] != request.host:
        return web.json_response({"error": "cross-origin WebSocket refused"}, status=403)
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    pusher = request.app[PUSHER]
    transport = request.transport
    try:
        if not await pusher.add(ws, transport.abort if transport else lambda: None):
            return ws
        async for message in ws:
            # Screens only listen; anything they send is ignored except a close.
            if message.type == WSMsgType.ERROR:
                log.info("wallboard: screen connection error: %s", ws.exception())
    finally:
        pusher.discard(ws)
    return ws


async def _run_pusher(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(app[PUSHER].run(), name="wallboard-pusher")
    yield
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


async def _close_screens(app: web.Application) -> None:
    await app[PUSHER].close_all()


def create_app(
    live: LiveView,
    health: HealthCheck,
    *,
    push_interval: float = 0.5,
    push_send_timeout: float = 5.0,
    store: WebStore | None = None,
    incidents: IncidentSink | None = None,
    settings: Settings | None = None,
    session_secret: str | None = None,
) -> web.Application:
    """The aiohttp application. ``app[PUSHER].poke`` may be subscribed to bus events.

    Without ``store`` nobody can log in (only the public routes answer); without
    ``incidents`` the incident routes answer 503. ``session_secret`` overrides
    ``settings.web.session_secret``; when both are empty a random one is made per process.
    """
    web_settings = settings.web if settings is not None else WebSettings()
    kpi_settings = settings.kpi if settings is not None else KpiSettings()
    secret = session_secret or web_settings.session_secret.get_secret_value()
    if not secret:
        if store is not None:
            log.warning("web.session_secret is not set: sessions end when the process does")
        secret = secrets.token_urlsafe(32)
    app = web.Application(middlewares=[guard])
    app[AUTH] = Auth(
        store,
        SessionCodec(secret, web_settings.session_max_age_s, web_settings.kiosk_max_age_s),
        LoginThrottle(web_settings.login_max_failures, web_settings.login_lockout_s),
        cookie_secure=web_settings.cookie_secure,
    )
    app[KPI_PARAMS] = KpiParams.from_settings(kpi_settings)
    if store is not None:
        app[WEB_STORE] = store
    if incidents is not None:
        app[INCIDENTS] = incidents
    app[_LIVE] = live
    app[_HEALTH] = health
    app[PUSHER] = WallboardPusher(
        lambda: build_snapshot(live), interval=push_interval, send_timeout=push_send_timeout
    )
    app.router.add_get("/", _index)
    app.router.add_get("/api/wallboard", _api_wallboard)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/ws", _websocket)
    add_auth_routes(app)
    add_incident_routes(app)
    add_kpi_routes(app)
    add_audit_routes(app)
    app.router.add_static("/static/", STATIC, name="static")
    app.cleanup_ctx.append(_run_pusher)
    app.on_shutdown.append(_close_screens)
    return app
