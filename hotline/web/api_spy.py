"""Listen / whisper / barge (supervisors): ``POST /api/spy`` rings the supervisor's own phone
into ChanSpy on the agent's call; ``GET /api/spy/log`` is the log of every use.

- ``POST /api/spy`` ``{"agent": "<the wall screen's agent id>", "mode": "listen" | "whisper" |
  "barge"}`` → ``{id, mode, agent, linkedid, spying, keys}``: the phone rings; once answered
  the supervisor is in; the keys 4 / 5 / 6 on the phone switch modes (each switch is logged).
  409 spy.no_phone (the user is not tied to a phone), 409 spy.not_in_call, 503/504 when the
  PBX is down or silent, 409 spy.in_session while the supervisor is on a spy call already
  (switch on the phone). Agents get 403: the route is for supervisors and admins only.
- ``POST /api/spy/stop`` → ``{stopped: n}``: hangs up the supervisor's spy calls.
- ``GET /api/spy/log?limit=`` → ``{items: [{id, supervisor, pbx, agent_interface,
  agent_name, linkedid, mode, started_at, ended_at, end_reason, …}]}`` newest first
  (supervisors, admins, auditors).
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from hotline.agent_desk import DeskError
from hotline.supervision import SpyDesk
from hotline.web.api_common import dumps, json_object, text
from hotline.web.auth import AUTH, principal
from hotline.web.auth_table import SUPERVISION
from hotline.web.errors import ApiError, BadInput, Unavailable
from hotline.web.routes import Param, RouteTable

SPY_DESK: web.AppKey[SpyDesk] = web.AppKey("spy_desk")
SPY_LOG_READERS: Final = frozenset({"supervisor", "admin", "auditor"})

routes = RouteTable()


def _desk(request: web.Request) -> SpyDesk:
    desk = request.app.get(SPY_DESK)
    if desk is None:
        raise Unavailable("listen / whisper / barge is not available on this server")
    return desk


@routes.post(
    "/api/spy",
    SUPERVISION,
    summary="Listen, whisper or barge: ring my phone into ChanSpy on an agent's call",
    body={
        "type": "object",
        "properties": {
            "agent": {"type": "string", "maxLength": 200},
            "mode": {"type": "string", "enum": ["listen", "whisper", "barge"]},
        },
        "required": ["agent", "mode"],
        "additionalProperties": False,
    },
    statuses=(200, 400, 404, 409, 503, 504),
)
async def spy_start(request: web.Request) -> web.Response:
    body = await json_object(request)
    unknown = sorted(set(body) - {"agent", "mode"})
    if unknown:
        raise BadInput(unknown[0], "unknown field", "input.unknown_field")
    agent = text("agent", body.get("agent"), max_length=200)
    mode = text("mode", body.get("mode"), max_length=16)
    assert agent is not None and mode is not None
    who = principal(request)
    try:
        session = await _desk(request).start(who.username, agent, mode)
    except DeskError as error:
        raise ApiError(error.error_id, error.message, error.field, error.status) from None
    await request.app[AUTH].audit(
        request,
        who.username,
        who.role,
        f"spy.{mode}",
        f"spy:{session['id']}",
        {"agent": session.get("agent"), "linkedid": session.get("linkedid")},
    )
    return web.json_response(session, dumps=dumps)


@routes.post(
    "/api/spy/stop",
    SUPERVISION,
    summary="Stop listening / whispering / barging: hang up my phone's spy calls",
    statuses=(200, 503, 504),
)
async def spy_stop(request: web.Request) -> web.Response:
    who = principal(request)
    try:
        result = await _desk(request).stop(who.username)
    except DeskError as error:
        raise ApiError(error.error_id, error.message, error.field, error.status) from None
    await request.app[AUTH].audit(request, who.username, who.role, "spy.stop", None, result)
    return web.json_response(result, dumps=dumps)


@routes.get(
    "/api/spy/log",
    SPY_LOG_READERS,
    summary="Every listen / whisper / barge: who, whom, which call, mode, start, end",
    query={"limit": Param({"type": "integer", "minimum": 1, "maximum": 1000}, "rows")},
    statuses=(200, 400, 503),
)
async def spy_log(request: web.Request) -> web.Response:
    raw = request.query.get("limit", "100")
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise BadInput("limit", "1 to 1000", "input.out_of_range")
    items = await _desk(request).recent(int(raw))
    return web.json_response({"items": items}, dumps=dumps)
