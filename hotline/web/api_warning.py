"""Early warning (预警) over the service API: the suggested incidents, accept one (it is
announced on the IVR at once, through the incident desk) or dismiss it (who and why go to
the access log). Without the early-warning service these routes answer 503.
"""

from __future__ import annotations

from aiohttp import web

from hotline.web.api_common import dumps, json_object, text
from hotline.web.auth import AUTH, principal
from hotline.web.auth_table import SUPERVISION
from hotline.web.errors import ApiError, BadInput, Unavailable
from hotline.web.routes import Param, RouteTable
from ivr.incidents import TITLE_MAX
from warning.service import EarlyWarning, NoIncidents, StoreUnavailable, WarningError

WARNINGS: web.AppKey[EarlyWarning] = web.AppKey("early_warning")

_ID = {"id": Param({"type": "string"}, "the suggestion's id", required=True)}
_ACCEPT_BODY = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "description": "the announcement's title (else generic)"},
        "text": {"type": "string", "description": "what the IVR says (else a generic text)"},
    },
}
_DISMISS_BODY = {
    "type": "object",
    "properties": {"reason": {"type": "string", "description": "why: kept in the access log"}},
}
TEXT_MAX = 1000
REASON_MAX = 500

routes = RouteTable()


def install(app: web.Application, service: EarlyWarning | None) -> None:
    if service is not None:
        app[WARNINGS] = service


def _service(request: web.Request) -> EarlyWarning:
    service = request.app.get(WARNINGS)
    if service is None:
        raise Unavailable("early warning is not running on this server")
    return service


async def _body(request: web.Request, allowed: set[str]) -> dict[str, object]:
    if not request.can_read_body:
        return {}
    body = await json_object(request)
    for key in body:
        if key not in allowed:
            raise BadInput(key, "not a field of this route", "input.unknown_field")
    return body


@routes.get(
    "/api/warnings",
    SUPERVISION,
    summary="Suggested incidents (预警): bursts of similar calls from one area, open first",
    statuses=(200, 503),
)
async def list_warnings(request: web.Request) -> web.Response:
    service = _service(request)
    thresholds = service.thresholds
    body = {
        "suggestions": service.list(),
        "rule": {
            "window_s": thresholds.window_s,
            "min_calls": thresholds.min_calls,
            "ratio": thresholds.ratio,
            "baseline_weeks": service.baseline_weeks,
        },
    }
    return web.json_response(body, dumps=dumps)


@routes.post(
    "/api/warnings/{id}/accept",
    SUPERVISION,
    summary="Announce a suggested incident on the IVR (one click; title and text optional)",
    path_params=_ID,
    body=_ACCEPT_BODY,
    statuses=(201, 400, 404, 409, 503),
)
async def accept_warning(request: web.Request) -> web.Response:
    service = _service(request)
    body = await _body(request, {"title", "text"})
    title = text("title", body.get("title"), max_length=TITLE_MAX, required=False)
    spoken = text("text", body.get("text"), max_length=TEXT_MAX, required=False)
    who = principal(request)
    suggestion_id = request.match_info["id"]
    try:
        suggestion, incident = await service.accept(
            suggestion_id, who.username, title=title, text=spoken
        )
    except KeyError:
        raise ApiError("warning.not_found", f"no suggestion {suggestion_id!r}", "id", 404) from None
    except WarningError as error:
        raise ApiError("warning.decided", str(error), "id", 409) from None
    except (NoIncidents, StoreUnavailable) as error:
        raise Unavailable(str(error)) from None
    except ValueError as error:  # the incident desk refused it (IncidentError: which field)
        raise ApiError("incident.invalid", str(error), "id") from None
    await request.app[AUTH].audit(
        request,
        who.username,
        who.role,
        "warning.accept",
        f"warning:{suggestion_id}",
        {"incident": incident.get("id"), "area": suggestion["area"]},
    )
    return web.json_response(
        {"suggestion": suggestion, "incident": incident}, status=201, dumps=dumps
    )


@routes.post(
    "/api/warnings/{id}/dismiss",
    SUPERVISION,
    summary="Dismiss a suggested incident (who and why are logged)",
    path_params=_ID,
    body=_DISMISS_BODY,
    statuses=(200, 400, 404, 409, 503),
)
async def dismiss_warning(request: web.Request) -> web.Response:
    service = _service(request)
    body = await _body(request, {"reason"})
    reason = text("reason", body.get("reason"), max_length=REASON_MAX, required=False)
    who = principal(request)
    suggestion_id = request.match_info["id"]
    try:
        suggestion = await service.dismiss(suggestion_id, who.username, reason)
    except KeyError:
        raise ApiError("warning.not_found", f"no suggestion {suggestion_id!r}", "id", 404) from None
    except WarningError as error:
        raise ApiError("warning.decided", str(error), "id", 409) from None
    except StoreUnavailable as error:
        raise Unavailable(str(error)) from None
    await request.app[AUTH].audit(
        request,
        who.username,
        who.role,
        "warning.dismiss",
        f"warning:{suggestion_id}",
        {"reason": reason, "area": suggestion["area"], "calls": suggestion["calls"]},
    )
    return web.json_response(suggestion, dumps=dumps)
