"""API errors: one JSON shape with a stable id that clients may branch on.

Every error the web app answers with is ``{"error": {"id": "...", "message": "...",
"field": "..."}}`` (``field`` only when one input is at fault). The message is for people and
may change; the id is part of the API: ``ERROR_IDS`` lists them all (README, "Web, roles and
privacy", documents them and a test checks both agree).
"""

from __future__ import annotations

import logging
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler

log = logging.getLogger(__name__)

ERROR_IDS: Final[dict[str, str]] = {
    "auth.login_required": "no session or token (401)",
    "auth.role": "the caller's role may not use this route (403)",
    "auth.csrf": "a browser POST without its session's CSRF token (403)",
    "auth.no_rule": "the route is not in the route table (403; fails closed)",
    "auth.origin": "a cross-site WebSocket handshake (403)",
    "auth.store_unavailable": "the user store cannot be read (503)",
    "auth.throttled": "too many failed logins or bad kiosk tokens (429)",
    "auth.kiosk_token": "the kiosk link is not valid (403)",
    "input.body": "the body is not a JSON object (or is nested too deeply) (400)",
    "input.unknown_field": "a field the route does not take (400)",
    "input.required": "a required field is missing or empty (400)",
    "input.time": "not an ISO 8601 time with zone or a YYYY-MM-DD date (400)",
    "input.span": "the time span is empty, reversed or too long (400)",
    "input.out_of_range": "a number or date outside what the route accepts (400)",
    "input.text": "text with a control character (NUL…) or too long (400)",
    "input.next": "the login's next is not a path on this site (400)",
    "input.choice": "a value that is not one of the field's choices (400)",
    "incident.invalid": "the incident does not pass validation (400)",
    "incident.not_found": "no (active) incident with that id (404)",
    "warning.not_found": "no suggested incident (预警) with that id (404)",
    "warning.decided": "the suggestion was accepted or dismissed already (409)",
    "agent.not_linked": "the signed-in user is not tied to an agent phone (404)",
    "agent.no_skills": "the agent has no queues (skills) to log in to (409)",
    "agent.reason": "not one of the configured pause reasons (400)",
    "agent.not_now": "the agent's state does not allow this (not logged in, not in wrap-up) (409)",
    "agent.pbx_refused": "the PBX refused the action; the message says why (409)",
    "agent.pbx_timeout": "the PBX did not answer the action in time (504)",
    "agent.pbx_unavailable": "the PBX is not connected (503)",
    "spy.no_phone": "the supervisor's user is not tied to a phone (`hotline agent set`) (409)",
    "spy.in_session": "already on a spy call: switch modes on the phone (4/5/6) or stop it (409)",
    "spy.not_in_call": "the agent is not talking on a call the service follows (409)",
    "spy.unknown_agent": "no such agent on a PBX the service follows (404)",
    "callback.not_found": "no such call-back (404)",
    "callback.taken": "claimed by another agent, done, or not claimed by you (409)",
    "callback.invalid": "not a call-back result (400)",
    "callback.not_placed": "the agent's phone did not answer the call-back (409)",
    "desk.no_pop": "the agent has no current screen pop for that call (404)",
    "registration.invalid": "the registration form has errors; `errors` lists each field (400)",
    "registration.unknown_call": "no call with that linkedid is known (404)",
    "registration.already_registered": "the call is registered already (409)",
    "registration.conflict": "the ticket changed while registering; try again (409)",
    "registration.repeat_of": "the earlier ticket is unknown or not this caller's (400)",
    "registration.not_yours": "not taken at your phone: its agent or a supervisor registers (403)",
    "registration.workflow": "the case workflow refused the ending or the merge; the message"
    " says why, e.g. the earlier case is finished (409)",
    "policy.invalid": "not a deadline policy: the message names the bad preset, limit or rule"
    " (400)",
    "attachment.too_large": "the attachment is bigger than cases.attachment_max_bytes (413)",
    "attachment.not_found": "no such attachment, or not of a case you may see (404)",
    "user.exists": "a user with that username exists already (409)",
    "user.not_found": "no user with that username (404)",
    "user.self": "an admin cannot disable or demote their own account (400)",
    "user.password": "the password is too short or too long (400)",
    "kpi.exclusion_not_found": "no exclusion window with that id (404)",
    "case.not_found": "no such case, or not the caller's unit's (404)",
    "workflow.forbidden": "the action is not allowed on the case now, for this role or unit (409)",
    "workflow.fields": "the action's fields are missing, unknown or malformed (400)",
    "workflow.conflict": "someone acted on the case since expected_version: reload (409)",
    "recording.not_found": "no such call or call-back, or it has no recording; also an agent's"
    " answer for a call they may not hear, so existence does not leak (404)",
    "recording.gone": "the recording's file is not there (deleted by retention, or missing) (404)",
    "recording.refused": "the stored path is outside the recordings directories (403)",
    "blocklist.invalid": "a blocklist entry's number, reason or expiry is not acceptable (400)",
    "blocklist.not_found": "no such active blocklist entry (404)",
    "qa.invalid": "a QA score does not fit the scorecard; the message names the item (400)",
    "qa.not_found": "no such call, or it has no recording to score (404)",
    "qa.scored": "the call is scored already (409)",
    "service.unavailable": "this server has no store or incident desk (503)",
    "route.not_found": "no such route (404)",
    "route.method": "the route does not take this method (405)",
    "server.internal": "an unexpected failure, logged with its traceback (500)",
}


def error_body(error_id: str, message: str, field: str | None = None) -> dict[str, Any]:
    if error_id not in ERROR_IDS:
        raise KeyError(f"undeclared API error id {error_id!r}: add it to ERROR_IDS")
    inner: dict[str, Any] = {"id": error_id, "message": message}
    if field is not None:
        inner["field"] = field
    return {"error": inner}


def error_response(
    status: int,
    error_id: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    return web.json_response(error_body(error_id, message, field), status=status, headers=headers)


class ApiError(Exception):
    """Raised by a handler; the error middleware answers with its JSON form."""

    status = 400

    def __init__(
        self, error_id: str, message: str, field: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.error_id = error_id
        self.message = message
        self.field = field
        if status is not None:
            self.status = status

    def response(self) -> web.Response:
        return error_response(self.status, self.error_id, str(self), self.field)


class BadInput(ApiError):
    """Invalid request input (400); ``field`` names what is wrong."""

    field: str

    def __init__(self, field: str, message: str, error_id: str = "input.required") -> None:
        super().__init__(error_id, message, field, 400)


class Unavailable(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__("service.unavailable", message, None, 503)


@web.middleware
async def answer_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """ApiErrors become their JSON answer; the API's 404/405 are JSON too; anything
    unexpected is logged with its traceback and answered 500 with the same shape."""
    try:
        return await handler(request)
    except ApiError as error:
        return error.response()
    except web.HTTPException as error:
        if request.path.startswith("/api/") and error.status in (404, 405):
            error_id = "route.not_found" if error.status == 404 else "route.method"
            return error_response(error.status, error_id, error.reason)
        raise
    except Exception:
        log.exception("web: %s %s failed", request.method, request.path)
        return error_response(500, "server.internal", "internal error (logged)")
