"""Major-fault incidents (重大故障) over the service API: list, create, end.

The app does not own incidents: it hands them to an ``IncidentSink`` (wired by the service
to the IVR's IncidentBoard and the store). Without one, these routes answer 503.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from aiohttp import web

from hotline.web.api_common import dumps, json_object
from hotline.web.api_kpi import web_store
from hotline.web.auth import AUTH, principal
from hotline.web.auth_table import SUPERVISION
from hotline.web.caller_mask import caller_number_for
from hotline.web.errors import ApiError, Unavailable
from hotline.web.routes import Param, RouteTable
from ivr.incidents import Incident, IncidentError, validate_incident_id


class IncidentSink(Protocol):
    async def create(self, data: dict[str, Any]) -> dict[str, Any]:
        """Store and announce a new incident (JSON form of ivr.incidents.Incident); return
        its JSON form. Raise ValueError (IncidentError) for an invalid or duplicate one."""
        ...

    async def end(self, incident_id: str) -> bool:
        """End an active incident; False when there is no such active incident."""
        ...

    async def list(self) -> list[dict[str, Any]]:
        """Every known incident, JSON form, newest first."""
        ...


INCIDENTS: web.AppKey[IncidentSink] = web.AppKey("incidents")

_FIELD = re.compile(r"(?:^|; )(?:invalid incident: )?([a-z_]+): ")

# The JSON form of ivr.incidents.Incident, as far as a client sends it.
INCIDENT_BODY = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "text": {"type": "string"},
        "prompt": {"type": "string"},
        "start": {"type": "string", "example": "2026-11-25T08:00:00+08:00"},
        "expected_end": {"type": "string"},
        "prefixes": {"type": "array", "items": {"type": "string"}},
        "districts": {"type": "array", "items": {"type": "string"}},
        "branch": {"type": "string"},
    },
    "required": ["id", "title", "start"],
}

routes = RouteTable()


def _first_field(message: str) -> str:
    return min(_FIELD.findall(message), default="body")


def _sink(request: web.Request) -> IncidentSink:
    sink = request.app.get(INCIDENTS)
    if sink is None:
        raise Unavailable("incidents are not available on this server")
    return sink


@routes.get(
    "/api/incidents",
    SUPERVISION,
    summary="Every known major-fault incident (重大故障), newest first",
    statuses=(200, 503),
)
async def list_incidents(request: web.Request) -> web.Response:
    return web.json_response({"incidents": await _sink(request).list()}, dumps=dumps)


@routes.post(
    "/api/incidents",
    SUPERVISION,
    summary="Announce a new incident on the IVR",
    body=INCIDENT_BODY,
    statuses=(201, 400, 503),
)
async def create_incident(request: web.Request) -> web.Response:
    sink = _sink(request)
    data = await json_object(request)
    try:
        Incident.from_json(data)  # validate here, so that a bad body never reaches the sink
        created = await sink.create(data)
    except (IncidentError, ValueError) as error:
        raise ApiError("incident.invalid", str(error), _first_field(str(error))) from None
    who = principal(request)
    await request.app[AUTH].audit(
        request, who.username, who.role, "incident.create", f"incident:{data.get('id')}"
    )
    return web.json_response(created, status=201, dumps=dumps)


@routes.post(
    "/api/incidents/{id}/end",
    SUPERVISION,
    summary="End an active incident",
    path_params={"id": Param({"type": "string"}, "the incident's id", required=True)},
    statuses=(200, 400, 404, 503),
)
async def end_incident(request: web.Request) -> web.Response:
    sink = _sink(request)
    incident_id = request.match_info["id"]
    try:
        # An id no incident can have is the client's mistake (400), not an unknown one (404);
        # and it never reaches the sink, the audit log or the error message unchecked.
        validate_incident_id(incident_id)
    except IncidentError as error:
        raise ApiError("incident.invalid", str(error), "id") from None
    if not await sink.end(incident_id):
        raise ApiError("incident.not_found", f"no active incident {incident_id!r}", "id", 404)
    who = principal(request)
    await request.app[AUTH].audit(
        request, who.username, who.role, "incident.end", f"incident:{incident_id}"
    )
    return web.json_response({"id": incident_id, "status": "ended"})


@routes.get(
    "/api/incidents/{id}/merged",
    SUPERVISION,
    summary="The callers merged into an incident (并单), numbers masked unless the role sees them",
    path_params={"id": Param({"type": "string"}, "the incident's id", required=True)},
    statuses=(200, 400, 404, 503),
)
async def merged_callers(request: web.Request) -> web.Response:
    incident_id = request.match_info["id"]
    try:
        validate_incident_id(incident_id)
    except IncidentError as error:
        raise ApiError("incident.invalid", str(error), "id") from None
    try:
        callers = await web_store(request).incident_reports(incident_id)
    except KeyError:
        raise ApiError("incident.not_found", f"no incident {incident_id!r}", "id", 404) from None
    role = principal(request).role
    callers = [{**c, "caller_num": caller_number_for(c["caller_num"], role)} for c in callers]
    return web.json_response({"incident_id": incident_id, "callers": callers}, dumps=dumps)
