"""The web application: the wallboard page, its JSON, its WebSocket, and /healthz.

Read-only and without login for now: nothing here shows a caller's number unmasked.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from hotline.web.push import WallboardPusher
from hotline.web.wallboard import LiveView, build_snapshot

__all__ = ["PUSHER", "HealthCheck", "LiveView", "create_app", "health_report"]

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
    return not degraded, {"ok": not degraded, "degraded": degraded, "components": components}


# Live views and health checks may hand over datetimes or Decimals: show them, don't fail.
_dumps = functools.partial(json.dumps, ensure_ascii=False, default=str)


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "wallboard.html", headers={"Cache-Control": "no-cache"})


async def _api_wallboard(request: web.Request) -> web.Response:
    return web.json_response(build_snapshot(request.app[_LIVE]), dumps=_dumps)


async def _healthz(request: web.Request) -> web.Response:
    healthy, body = health_report(request.app[_HEALTH])
    return web.json_response(body, status=200 if healthy else 503, dumps=_dumps)


async def _websocket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    pusher = request.app[PUSHER]
    try:
        await pusher.add(ws)
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
) -> web.Application:
    """The aiohttp application. ``app[PUSHER].poke`` may be subscribed to bus events."""
    app = web.Application()
    app[_LIVE] = live
    app[_HEALTH] = health
    app[PUSHER] = WallboardPusher(lambda: build_snapshot(live), interval=push_interval)
    app.router.add_get("/", _index)
    app.router.add_get("/api/wallboard", _api_wallboard)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/ws", _websocket)
    app.router.add_static("/static/", STATIC, name="static")
    app.cleanup_ctx.append(_run_pusher)
    app.on_shutdown.append(_close_screens)
    return app
