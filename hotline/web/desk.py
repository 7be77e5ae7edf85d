"""The agent desk (座席工作台): its page, its per-user WebSocket and the current screen pop.

The desk's WebSocket (``/ws/desk``) is the user's own channel (hotline/web/desk_push.py):
it carries that user's screen pops and agent state changes, and nothing of anybody else's.
A desk that connects while the phone rings gets the ringing pop at once.
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import WSMsgType, web

from hotline.web.auth import AUTH, principal
from hotline.web.auth_table import DESK
from hotline.web.desk_pop import shown_to
from hotline.web.desk_push import AgentPushes, Desk, DeskChannel, ScreenPops, pop_message
from hotline.web.errors import ApiError, error_response
from hotline.web.push import Screen
from hotline.web.routes import Param, RouteTable

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"

DESK_CHANNEL = web.AppKey("desk_channel", DeskChannel)
SCREEN_POPS = web.AppKey("screen_pops", ScreenPops)
AGENT_PUSHES = web.AppKey("agent_pushes", AgentPushes)

routes = RouteTable()


@routes.get("/desk", DESK, summary="The agent desk page (座席工作台)", page=True)
async def desk_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "desk.html", headers={"Cache-Control": "no-cache"})


@routes.get("/desk/callbacks", DESK, summary="The call-back list page (漏接回拨)", page=True)
async def callbacks_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "desk_callbacks.html", headers={"Cache-Control": "no-cache"})


@routes.get(
    "/ws/desk",
    DESK,
    summary="The desk's own WebSocket: this user's screen pops and agent state only",
    statuses=(101, 400, 403),
    page=True,
)
async def desk_socket(request: web.Request) -> web.StreamResponse:
    # Browsers send cookies with cross-site WebSocket handshakes too: accept only our pages.
    origin = request.headers.get("Origin")
    if origin is not None and origin.partition("://")[2] != request.host:
        return error_response(403, "auth.origin", "cross-origin WebSocket refused")
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    who = principal(request)
    auth = request.app[AUTH]
    transport = request.transport
    desk = Desk(
        Screen(
            transport.abort if transport else lambda: None,
            owner=who.username,
            valid=lambda: auth.still_valid(who),
        ),
        who.role,
    )
    channel = request.app[DESK_CHANNEL]
    channel.add(ws, desk)
    try:
        await channel.send_one(ws, desk, {"type": "hello", "username": who.username})
        pop = request.app[SCREEN_POPS].pop_for(who.username)
        if pop is not None:
            await channel.send_one(ws, desk, pop_message(pop)(who.role))
        async for message in ws:
            # The desk only listens here; its actions are JSON routes (CSRF-checked).
            if message.type == WSMsgType.ERROR:
                log.info("desk: connection error: %s", ws.exception())
    finally:
        channel.discard(ws, who.username)
    return ws


@routes.get(
    "/api/desk/pop",
    DESK,
    summary="The signed-in agent's current screen pop (null when none)",
)
async def current_pop(request: web.Request) -> web.Response:
    who = principal(request)
    pop = request.app[SCREEN_POPS].pop_for(who.username)
    return web.json_response({"pop": None if pop is None else shown_to(pop, who.role)})


@routes.post(
    "/api/desk/pop/{linkedid}/dismiss",
    DESK,
    summary="Close the current screen pop (the call is dealt with)",
    path_params={"linkedid": Param({"type": "string"}, "the call's linkedid", required=True)},
    statuses=(200, 404),
)
async def dismiss_pop(request: web.Request) -> web.Response:
    who = principal(request)
    linkedid = request.match_info["linkedid"]
    if not request.app[SCREEN_POPS].dismiss(who.username, linkedid):
        raise ApiError("desk.no_pop", f"no current pop for call {linkedid!r}", "linkedid", 404)
    return web.json_response({"linkedid": linkedid, "dismissed": True})
