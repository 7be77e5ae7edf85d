"""The web application: the wallboard page, its JSON, its WebSocket, /healthz, the login
pages and the JSON service API.

Every route is declared with its roles in one place (hotline/web/routes.py: each module's
RouteTable fills the router, the guard's role table and /api/openapi.json); the guard in
hotline/web/auth.py refuses anything undeclared. Nothing here shows a caller's number unmasked.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from ipaddress import ip_network
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from acd.kpi import KpiParams
from acd.staffing import StaffingPlanner
from hotline.agent_desk import AgentDesk
from hotline.case_files import CaseFiles
from hotline.settings import KpiSettings, Settings, WebSettings
from hotline.supervision import SpyDesk
from hotline.web import (
    api_agents,
    api_attachments,
    api_audit,
    api_blocklist,
    api_case_work,
    api_cases,
    api_incidents,
    api_kpi,
    api_qa,
    api_recordings,
    api_reports,
    api_spy,
    api_staffing,
    api_supervisor,
    api_users,
    api_warning,
    auth,
    case_push,
    console,
    desk,
    desk_registration,
)
from hotline.web.api_agents import DESK
from hotline.web.api_incidents import INCIDENTS, IncidentSink
from hotline.web.api_kpi import KPI_PARAMS, WEB_STORE
from hotline.web.api_spy import SPY_DESK
from hotline.web.auth import AUTH, Auth, guard, principal
from hotline.web.auth_passwords import HashPool
from hotline.web.auth_sessions import LoginThrottle, SessionCodec
from hotline.web.auth_store import WebStore
from hotline.web.auth_table import PUBLIC, SIGNED_IN, WALLBOARD
from hotline.web.case_push import CASE_PUSHES, CasePushes
from hotline.web.desk import AGENT_PUSHES, DESK_CHANNEL, SCREEN_POPS
from hotline.web.desk_push import (
    AgentLookup,
    AgentPushes,
    DeskChannel,
    ScreenPops,
    StaticLookup,
)
from hotline.web.errors import answer_errors, error_response
from hotline.web.openapi import openapi
from hotline.web.push import Screen, WallboardPusher
from hotline.web.routes import ROUTES, Param, RouteTable
from hotline.web.wall_picture import WallConfig
from hotline.web.wallboard import LiveView, build_snapshot, mask_callers, mask_number
from warning.service import EarlyWarning

__all__ = [
    "AGENT_PUSHES",
    "CASE_PUSHES",
    "PUSHER",
    "SCREEN_POPS",
    "AgentLookup",
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
_RECHECK_S = web.AppKey("session_recheck_s", float)
_SNAPSHOT: web.AppKey[Callable[[], dict[str, Any]]] = web.AppKey("wallboard_snapshot")
_HEALTH: web.AppKey[HealthCheck] = web.AppKey("health")


# Asset types served from /static: nothing else in that folder (its __init__.py…) is public.
ASSET_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript",
               ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon",
               ".woff2": "font/woff2"}  # fmt: skip
_ASSET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")

routes = RouteTable()


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
    return not degraded, _scrub(mask_callers(_counted(body)))


def _counted(data: Any) -> Any:
    """Lists become their length: /healthz says how many (unsaved incidents…), never which."""
    if isinstance(data, dict):
        return {key: _counted(value) for key, value in data.items()}
    if isinstance(data, list | tuple | set | frozenset):
        return len(data)
    return data


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


@routes.get("/", WALLBOARD, summary="The wallboard page", page=True)
async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "wallboard.html", headers={"Cache-Control": "no-cache"})


@routes.get(
    "/static/{name}",
    PUBLIC,
    summary="Page assets (html, css, js, images, fonts only)",
    path_params={"name": Param({"type": "string"}, "an asset's file name", required=True)},
    statuses=(200, 404),
    page=True,
)
async def _static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = STATIC / name
    kind = ASSET_TYPES.get(path.suffix)
    if kind is None or not _ASSET_NAME.fullmatch(name) or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Content-Type": kind})


@routes.get("/api/wallboard", WALLBOARD, summary="What the wallboard shows (numbers masked)")
async def _api_wallboard(request: web.Request) -> web.Response:
    return web.json_response(request.app[_SNAPSHOT](), dumps=_dumps)


@routes.get(
    "/api/openapi.json",
    SIGNED_IN,  # the API's shape, no data; signed in only, so strangers get no map
    summary="This API's OpenAPI 3 description: every route with its roles (x-roles)",
)
async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi(request.app[ROUTES]))


@routes.get(
    "/healthz",
    PUBLIC,  # monitoring: component states and counts only, callers masked
    summary="Component states for monitoring (200 healthy, 503 degraded)",
    statuses=(200, 503),
)
async def _healthz(request: web.Request) -> web.Response:
    healthy, body = health_report(request.app[_HEALTH])
    return web.json_response(body, status=200 if healthy else 503, dumps=_dumps)


@routes.get(
    "/ws",
    WALLBOARD,
    summary="The wallboard's WebSocket: the picture, then every change",
    statuses=(101, 400, 403),
    page=True,
)
async def _websocket(request: web.Request) -> web.StreamResponse:
    # Browsers send cookies with cross-site WebSocket handshakes too: accept only our pages.
    origin = request.headers.get("Origin")
    if origin is not None and origin.partition("://")[2] != request.host:
        return error_response(403, "auth.origin", "cross-origin WebSocket refused")
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    pusher = request.app[PUSHER]
    transport = request.transport
    who = principal(request)
    auth_ = request.app[AUTH]
    screen = Screen(
        transport.abort if transport else lambda: None,
        owner=who.username,
        valid=lambda: auth_.still_valid(who),
    )
    try:
        if not await pusher.add(ws, screen):
            return ws
        async for message in ws:
            # Screens only listen; anything they send is ignored except a close.
            if message.type == WSMsgType.ERROR:
                log.info("wallboard: screen connection error: %s", ws.exception())
    finally:
        pusher.discard(ws)
    return ws


async def _run_pusher(app: web.Application) -> AsyncIterator[None]:
    pusher = app[PUSHER]
    tasks = [
        asyncio.create_task(pusher.run(), name="wallboard-pusher"),
        asyncio.create_task(
            pusher.recheck_forever(app[_RECHECK_S]), name="wallboard-session-recheck"
        ),
        asyncio.create_task(_recheck_desks(app), name="desk-session-recheck"),
    ]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with suppress(asyncio.CancelledError):
            await task


async def _recheck_desks(app: web.Application) -> None:
    while True:
        await asyncio.sleep(app[_RECHECK_S])  # a period, not a wait for a condition
        await app[DESK_CHANNEL].recheck()
        if CASE_PUSHES in app:
            await app[CASE_PUSHES].recheck()


async def _close_screens(app: web.Application) -> None:
    await app[PUSHER].close_all()
    await app[DESK_CHANNEL].close_all()
    if CASE_PUSHES in app:
        await app[CASE_PUSHES].close_all()


def wall_config(settings: Settings) -> WallConfig:
    """The wall screen's thresholds and display names from the settings."""
    board = settings.wallboard
    names = ("answer_timeliness", "connect_rate", "abandon_rate", "waiting",
             "longest_wait_s", "paused_s", "wrap_up_s", "talking_s")  # fmt: skip
    thresholds = {name: (getattr(board, name).amber, getattr(board, name).red) for name in names}
    # Softphones named in [[pbx.agents]] are known by their extension (PJSIP/<extension>);
    # the wallboard's own names win.
    agents = {agent.extension: agent.name for agent in settings.pbx.agents}
    return WallConfig(
        stale_after_s=board.stale_after_s,
        thresholds=thresholds,
        queue_names={q.name: q.display_name for q in settings.pbx.queues},
        agent_names={**agents, **board.agent_names},
    )


def create_app(
    live: LiveView,
    health: HealthCheck,
    *,
    push_interval: float = 0.5,
    push_send_timeout: float = 5.0,
    store: WebStore | None = None,
    incidents: IncidentSink | None = None,
    agents: AgentDesk | None = None,
    settings: Settings | None = None,
    session_secret: str | None = None,
    clock: Callable[[], float] = time.time,
    desk_agents: AgentLookup | None = None,
    spy: SpyDesk | None = None,
    warning: EarlyWarning | None = None,
    staffing: StaffingPlanner | None = None,
    exclusions_changed: Callable[[], Awaitable[None]] | None = None,
) -> web.Application:
    """The aiohttp application. ``app[PUSHER].poke`` may be subscribed to bus events.

    Without ``store`` nobody can log in (only the public routes answer); without
    ``incidents`` the incident routes answer 503. ``session_secret`` overrides
    ``settings.web.session_secret``; when both are empty a random one is made per process.
    ``clock`` is the service's clock (epoch seconds): the live view's ``since`` times are on
    it, so the wallboard's durations must be too (the demo runs on a simulated one).
    ``desk_agents`` says whose desk a ringing queue member is (none: no screen pops);
    ``app[SCREEN_POPS].on_event`` is to be subscribed to its ``topics`` (one queue) and
    ``app[AGENT_PUSHES].on_event`` to ``agent.status``. Without ``warning`` (early
    warning) or ``staffing`` (the Erlang C planner) their routes answer 503; the planner's
    agents needed now is on the wall screen.
    ``exclusions_changed`` is awaited after a KPI exclusion window is added or removed
    (the live KPIs recount).
    """
    web_settings = settings.web if settings is not None else WebSettings()
    kpi_settings = settings.kpi if settings is not None else KpiSettings()
    secret = session_secret or web_settings.session_secret.get_secret_value()
    if not secret:
        if store is not None:
            log.warning("web.session_secret is not set: sessions end when the process does")
        secret = secrets.token_urlsafe(32)
    app = web.Application(middlewares=[answer_errors, guard])
    table = RouteTable()
    for module_routes in (routes, auth.routes, api_incidents.routes, api_kpi.routes,
                          api_audit.routes, api_agents.routes, desk.routes,
                          desk_registration.routes, api_cases.routes,
                          api_recordings.routes, api_case_work.routes, api_attachments.routes,
                          api_blocklist.routes, api_qa.routes, api_reports.routes,
                          api_supervisor.routes, api_spy.routes, console.routes,
                          api_users.routes, api_warning.routes,
                          api_staffing.routes, case_push.routes):  # fmt: skip
        table.include(module_routes)
    app[ROUTES] = table
    app[AUTH] = Auth(
        store,
        SessionCodec(secret, web_settings.session_max_age_s, web_settings.kiosk_max_age_s),
        LoginThrottle(
            web_settings.login_max_failures,
            web_settings.login_lockout_s,
            max_per_address=web_settings.login_max_failures_per_address,
        ),
        cookie_secure=web_settings.cookie_secure,
        passwords=HashPool(web_settings.password_hash_threads),
        trusted_proxies=[
            ip_network(str(network), strict=False) for network in web_settings.trusted_proxies
        ],
    )
    app[KPI_PARAMS] = KpiParams.from_settings(kpi_settings)
    if settings is not None and settings.cases.attachments_dir is not None:
        app[api_attachments.CASE_FILES] = CaseFiles(
            settings.cases.attachments_dir, settings.cases.attachment_max_bytes
        )
    if store is not None:
        app[WEB_STORE] = store
        if isinstance(store, api_cases.CaseStore):
            app[api_cases.CASE_STORE] = store
        if isinstance(store, case_push.CaseChanges):
            # The case console's lists, live (/ws/cases); poke it from the bus's case.*.
            app[CASE_PUSHES] = CasePushes(store, send_timeout=push_send_timeout)
    if exclusions_changed is not None:
        app[api_kpi.EXCLUSIONS_CHANGED] = exclusions_changed
    api_recordings.install(app, store, settings)
    api_blocklist.install(app, store)
    api_qa.install(app, store, settings)
    api_reports.install(app, store, settings)
    if incidents is not None:
        app[INCIDENTS] = incidents
    if agents is not None:
        app[DESK] = agents
    if spy is not None:
        app[SPY_DESK] = spy
    api_warning.install(app, warning)
    api_staffing.install(app, staffing)
    app[_LIVE] = live
    app[_HEALTH] = health
    wall = wall_config(settings or Settings())
    snapshot: Callable[[], dict[str, Any]] = functools.partial(
        build_snapshot,
        live,
        now=clock,
        health=health,
        wall=wall,
        needed_now=staffing.needed_now if staffing is not None else None,
    )
    app[_SNAPSHOT] = snapshot
    app[PUSHER] = WallboardPusher(
        snapshot,
        interval=push_interval,
        send_timeout=push_send_timeout,
        # An unchanged picture is sent again well within stale_after_s, so a screen that
        # hears nothing for that long knows its data is stale (the server or the link died).
        keepalive=wall.stale_after_s / 3,
    )
    app[AUTH].on_sessions_ended.append(app[PUSHER].close_user)
    app[DESK_CHANNEL] = DeskChannel(send_timeout=push_send_timeout)
    app[SCREEN_POPS] = ScreenPops(app[DESK_CHANNEL], desk_agents or StaticLookup(), store)
    app[AGENT_PUSHES] = AgentPushes(app[DESK_CHANNEL], desk_agents or StaticLookup())
    app[AUTH].on_sessions_ended.append(app[DESK_CHANNEL].close_user)
    if CASE_PUSHES in app:
        app[AUTH].on_sessions_ended.append(app[CASE_PUSHES].close_user)
    app[_RECHECK_S] = web_settings.session_recheck_s
    table.install(app.router)
    app.cleanup_ctx.append(_run_pusher)
    app.cleanup_ctx.append(case_push.run_case_pushes)
    app.on_shutdown.append(_close_screens)
    return app
