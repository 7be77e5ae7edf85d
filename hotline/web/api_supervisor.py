"""The supervisor's view of the agent desk (班长台): every desk agent's live state with remote
pause and log-out, and the call-back list's state (open, claimed by whom, attempts and
their results, age). Roles: supervisor and admin (``SUPERVISION``).

A remote action is the agent's own action done for them (the same QueuePause/QueueRemove,
the same PBX answers) and is written to the access log before it answers: who (the
supervisor), whom (``user:<agent>``), when (the entry's time) and why (``reason``).

- ``GET  /supervisor/desk`` — the console page.
- ``GET  /api/supervisor/agents`` → ``{items: [{username, name, extension, pbx, followed,
  state, reason, since, call, queues}], pause_reasons, now}``.
- ``POST /api/supervisor/agents/{username}/pause`` ``{"reason": one of pause_reasons,
  "note"?: str}`` → the agent's state.
- ``POST /api/supervisor/agents/{username}/logout`` ``{"reason": str}`` → the agent's state.
- ``GET  /api/supervisor/callbacks`` → ``{open, claimed, done, done_since, oldest_age_s,
  items: [entry + attempt_log]}``: what is left and what was done today.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from hotline.agent_desk import DeskError
from hotline.web.api_agents import body_fields, desk_service, message_urls
from hotline.web.api_common import dumps, text
from hotline.web.auth import AUTH, principal
from hotline.web.auth_table import SUPERVISION
from hotline.web.caller_mask import callers_for
from hotline.web.errors import ApiError, BadInput
from hotline.web.routes import Param, RouteTable

STATIC = Path(__file__).parent / "static"

routes = RouteTable()

_USER = {"username": Param({"type": "string"}, "the agent's username", required=True)}
_ACTION_STATUSES = (200, 400, 404, 409, 503, 504)


def _shown(request: web.Request, data: dict[str, Any]) -> web.Response:
    # The same number rule as the desk's own answers (caller_mask): by the viewer's role.
    return web.json_response(callers_for(data, principal(request).role), dumps=dumps)


def _agent(request: web.Request) -> str:
    username = request.match_info["username"]
    if not 0 < len(username) <= 64 or not username.isprintable():
        raise BadInput("username", "a username", "input.text")
    return username


async def _remote(
    request: web.Request, action: str, work: Any, whom: str, detail: dict[str, Any]
) -> web.Response:
    try:
        data = await work
    except DeskError as error:
        raise ApiError(error.error_id, error.message, error.field, error.status) from None
    who = principal(request)
    await request.app[AUTH].audit(request, who.username, who.role, action, f"user:{whom}", detail)
    return _shown(request, data)


@routes.get("/supervisor/desk", SUPERVISION, summary="The supervisor's desk console", page=True)
async def console_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "console_desk.html", headers={"Cache-Control": "no-cache"})


@routes.get(
    "/api/supervisor/agents",
    SUPERVISION,
    summary="Every desk agent's live state (for remote pause / log-out)",
    statuses=(200, 503),
)
async def agents(request: web.Request) -> web.Response:
    return _shown(request, await desk_service(request).agents_overview())


@routes.post(
    "/api/supervisor/agents/{username}/pause",
    SUPERVISION,
    summary="Pause an agent in every queue, with a reason (logged: who, whom, when, why)",
    path_params=_USER,
    body={
        "type": "object",
        "properties": {"reason": {"type": "string"}, "note": {"type": "string", "maxLength": 500}},
        "required": ["reason"],
        "additionalProperties": False,
    },
    statuses=_ACTION_STATUSES,
)
async def remote_pause(request: web.Request) -> web.Response:
    whom = _agent(request)
    body = await body_fields(request, {"reason", "note"})
    reason = text("reason", body.get("reason"), max_length=64)
    note = text("note", body.get("note"), max_length=500, required=False)
    assert reason is not None
    desk = desk_service(request)
    detail = {"reason": reason, **({"note": note} if note else {})}
    return await _remote(request, "agent.remote_pause", desk.pause(whom, reason), whom, detail)


@routes.post(
    "/api/supervisor/agents/{username}/logout",
    SUPERVISION,
    summary="Log an agent out of its queues, with a reason (logged: who, whom, when, why)",
    path_params=_USER,
    body={
        "type": "object",
        "properties": {"reason": {"type": "string", "maxLength": 500}},
        "required": ["reason"],
        "additionalProperties": False,
    },
    statuses=_ACTION_STATUSES,
)
async def remote_logout(request: web.Request) -> web.Response:
    whom = _agent(request)
    body = await body_fields(request, {"reason"})
    reason = text("reason", body.get("reason"), max_length=500)
    desk = desk_service(request)
    work = desk.logout(whom)
    return await _remote(request, "agent.remote_logout", work, whom, {"reason": reason})


@routes.get(
    "/api/supervisor/callbacks",
    SUPERVISION,
    summary="The call-back list's state: open, claimed by whom, attempts and results, age",
    statuses=(200, 503),
)
async def callbacks(request: web.Request) -> web.Response:
    return _shown(request, message_urls(await desk_service(request).callback_overview()))
