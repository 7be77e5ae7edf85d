"""The agent desk's JSON API (role agent): my state, log in/out of my queues, pause with a
reason, ready, end after-call work, today's own figures, and the shared call-back list.

API note for the desk (every route answers JSON; errors have the usual
``{"error": {"id", "message", "field"?}}`` shape and a PBX failure is never silent):

- ``GET  /api/agent/state`` → ``{state, reason, since, now, queues: [{queue, paused,
  reason, penalty, dynamic}], call: {uniqueid, linkedid, queue, caller_num (as the screen
  pop shows it: hotline.web.caller_mask),
  caller_name, answered, since} | null, username, extension, name, interface, pbx,
  skills: [{queue, penalty}], wrap_up_left_s, pause_reasons: [...]}``. ``state`` is
  logged_out, ready, ringing, talking, wrap_up or paused; ``since`` and ``now`` are epoch
  seconds on the PBX's clock (time in state = now - since).
- ``POST /api/agent/login`` ``{"paused"?: bool, "reason"?: str}`` → the state (QueueAdd to
  every skill queue with its penalty).
- ``POST /api/agent/logout`` → the state (QueueRemove from each queue; ``static_queues``
  lists queues the settings make it a member of, which cannot be left).
- ``POST /api/agent/pause`` ``{"reason": one of pause_reasons}`` → the state.
- ``POST /api/agent/ready`` → the state (ends a pause or the after-call work).
- ``POST /api/agent/wrap-up/end`` → the state (409 agent.not_now when not in wrap-up).
- ``GET  /api/agent/figures`` → ``{day, calls, talk_s, wrap_up_s, aht_s,
  answered_within_s, answered_within_share, states: [{state, reason, seconds}]}``.
- ``GET  /api/callbacks`` → ``{open, claimed, oldest_age_s, items: [{id, kind
  (abandoned|timeout|callback_request|survey), caller_num (caller_mask), caller_name, queue,
  message_url (the caller's recorded message, fetched by the entry's id), called_at, age_s,
  status (open|claimed), claimed_by, attempts, result}]}``.
- ``GET  /api/callbacks/{id}`` → the entry with ``attempt_log: [{at, agent, result,
  detail}]`` (results placed, failed, dialled — "citizen: ANSWER|BUSY|NOANSWER…" — and the
  agent's own).
- ``POST /api/callbacks/{id}/claim`` / ``release`` → the entry (409 callback.taken when
  another agent holds it).
- ``POST /api/callbacks/{id}/call`` → the entry with its ``attempt_log``: rings the agent's
  phone, then the PBX dials the citizen (409 callback.not_placed when the phone did not
  answer; 503/504 when the PBX is down or silent).
- ``POST /api/callbacks/{id}/result`` ``{"result": reached|no_answer|busy|wrong_number|
  not_needed, "note"?: str}`` → the entry (reached, wrong_number and not_needed close it).

Live changes: the bus topic ``agent.status`` (events.payloads.AgentStatus) carries every
agent's state change, with ``pbx`` and ``interface`` to pick the desk's own; the desk gets
its own pushed on ``/ws/desk`` as ``{"type": "agent", "status": …}`` (desk_push.AgentPushes).
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from hotline.agent_desk import AgentDesk, DeskError
from hotline.web.api_common import dumps, json_object, text
from hotline.web.api_recordings import callback_audio_url
from hotline.web.auth import AUTH, principal
from hotline.web.caller_mask import callers_for
from hotline.web.errors import ApiError, BadInput, Unavailable
from hotline.web.routes import Param, RouteTable
from ticketing.callbacks import RESULTS

AGENT: Final = frozenset({"agent"})
DESK: web.AppKey[AgentDesk] = web.AppKey("agent_desk")

routes = RouteTable()

_ID = {"id": Param({"type": "integer", "minimum": 1}, "the call-back's id", required=True)}
_STATE_ERRORS = (200, 400, 404, 409, 503, 504)


def desk_service(request: web.Request) -> AgentDesk:
    desk = request.app.get(DESK)
    if desk is None:
        raise Unavailable("the agent desk is not available on this server")
    return desk


async def body_fields(request: web.Request, fields: set[str]) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    body = await json_object(request)
    unknown = sorted(set(body) - fields)
    if unknown:
        raise BadInput(unknown[0], "unknown field", "input.unknown_field")
    return body


def message_urls(data: dict[str, Any]) -> dict[str, Any]:
    """Call-back entries name their message by URL (the entry's id; playback is logged),
    never by file path."""
    if "message_path" in data:
        path = data["message_path"]
        data = {k: v for k, v in data.items() if k != "message_path"}
        data["message_url"] = callback_audio_url(int(data["id"])) if path else None
    if isinstance(data.get("items"), list):
        data = {**data, "items": [message_urls(item) for item in data["items"]]}
    return data


async def _answer(request: web.Request, work: Any, action: str | None = None) -> web.Response:
    try:
        data = await work
    except DeskError as error:
        raise ApiError(error.error_id, error.message, error.field, error.status) from None
    if action is not None:
        who = principal(request)
        target = request.match_info.get("id")
        await request.app[AUTH].audit(
            request, who.username, who.role, action, f"callback:{target}" if target else None
        )
    # The caller's number as the screen pop shows it to this role (one rule, caller_mask).
    return web.json_response(callers_for(message_urls(data), principal(request).role), dumps=dumps)


def _callback_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) < 2**53:
        raise BadInput("id", "a call-back id (a positive integer)", "input.out_of_range")
    return int(raw)


@routes.get(
    "/api/agent/state", AGENT, summary="My live state, queues and call", statuses=(200, 404, 503)
)
async def agent_state(request: web.Request) -> web.Response:
    return await _answer(request, desk_service(request).status(principal(request).username))


@routes.post(
    "/api/agent/login",
    AGENT,
    summary="Log in to my skill queues (QueueAdd)",
    body={
        "type": "object",
        "properties": {"paused": {"type": "boolean"}, "reason": {"type": "string"}},
        "additionalProperties": False,
    },
    statuses=_STATE_ERRORS,
)
async def agent_login(request: web.Request) -> web.Response:
    body = await body_fields(request, {"paused", "reason"})
    paused = body.get("paused", False)
    if not isinstance(paused, bool):
        raise BadInput("paused", "true or false", "input.out_of_range")
    reason = text("reason", body.get("reason"), max_length=64, required=False)
    desk = desk_service(request)
    return await _answer(
        request,
        desk.login(principal(request).username, paused=paused, reason=reason),
        "agent.login",
    )


@routes.post(
    "/api/agent/logout", AGENT, summary="Log out of my queues (QueueRemove)", statuses=_STATE_ERRORS
)
async def agent_logout(request: web.Request) -> web.Response:
    return await _answer(
        request, desk_service(request).logout(principal(request).username), "agent.logout"
    )


@routes.post(
    "/api/agent/pause",
    AGENT,
    summary="Pause in every queue with a reason (QueuePause)",
    body={
        "type": "object",
        "properties": {"reason": {"type": "string"}},
        "required": ["reason"],
        "additionalProperties": False,
    },
    statuses=_STATE_ERRORS,
)
async def agent_pause(request: web.Request) -> web.Response:
    body = await body_fields(request, {"reason"})
    reason = text("reason", body.get("reason"), max_length=64)
    assert reason is not None
    return await _answer(request, desk_service(request).pause(principal(request).username, reason))


@routes.post(
    "/api/agent/ready",
    AGENT,
    summary="Ready: end my pause or after-call work",
    statuses=_STATE_ERRORS,
)
async def agent_ready(request: web.Request) -> web.Response:
    return await _answer(request, desk_service(request).unpause(principal(request).username))


@routes.post(
    "/api/agent/wrap-up/end", AGENT, summary="End my after-call work now", statuses=_STATE_ERRORS
)
async def agent_end_wrap_up(request: web.Request) -> web.Response:
    return await _answer(request, desk_service(request).end_wrap_up(principal(request).username))


@routes.get("/api/agent/figures", AGENT, summary="My figures today", statuses=(200, 404, 503))
async def agent_figures(request: web.Request) -> web.Response:
    return await _answer(request, desk_service(request).figures(principal(request).username))


@routes.get(
    "/api/callbacks",
    AGENT,
    summary="The call-back list: what is left and how old",
    statuses=(200, 503),
)
async def callbacks_list(request: web.Request) -> web.Response:
    return await _answer(request, desk_service(request).callback_list())


@routes.get(
    "/api/callbacks/{id}",
    AGENT,
    summary="One call-back with every attempt and its result",
    path_params=_ID,
    statuses=(200, 400, 404, 503),
)
async def callback_entry(request: web.Request) -> web.Response:
    desk = desk_service(request)
    return await _answer(request, desk.callback(_callback_id(request)))


@routes.post(
    "/api/callbacks/{id}/claim",
    AGENT,
    summary="Claim a call-back",
    path_params=_ID,
    statuses=(200, 400, 404, 409, 503),
)
async def callback_claim(request: web.Request) -> web.Response:
    desk = desk_service(request)
    return await _answer(
        request, desk.claim(principal(request).username, _callback_id(request)), "callback.claim"
    )


@routes.post(
    "/api/callbacks/{id}/release",
    AGENT,
    summary="Give a claimed call-back back",
    path_params=_ID,
    statuses=(200, 400, 409, 503),
)
async def callback_release(request: web.Request) -> web.Response:
    desk = desk_service(request)
    return await _answer(request, desk.release(principal(request).username, _callback_id(request)))


@routes.post(
    "/api/callbacks/{id}/call",
    AGENT,
    summary="Call back: ring my phone, then the citizen (Originate)",
    path_params=_ID,
    statuses=_STATE_ERRORS,
)
async def callback_call(request: web.Request) -> web.Response:
    desk = desk_service(request)
    return await _answer(
        request, desk.place(principal(request).username, _callback_id(request)), "callback.call"
    )


@routes.post(
    "/api/callbacks/{id}/result",
    AGENT,
    summary="What came of the call-back",
    path_params=_ID,
    body={
        "type": "object",
        "properties": {
            "result": {"type": "string", "enum": list(RESULTS)},
            "note": {"type": "string", "maxLength": 2000},
        },
        "required": ["result"],
        "additionalProperties": False,
    },
    statuses=(200, 400, 404, 409, 503),
)
async def callback_result(request: web.Request) -> web.Response:
    body = await body_fields(request, {"result", "note"})
    result = body.get("result")
    if result not in RESULTS:
        raise BadInput("result", f"one of {', '.join(RESULTS)}", "input.out_of_range")
    note = text("note", body.get("note"), max_length=2000, required=False)
    desk = desk_service(request)
    return await _answer(
        request,
        desk.report(principal(request).username, _callback_id(request), result, note),
        "callback.result",
    )
