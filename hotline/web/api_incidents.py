"""Major-fault incidents (重大故障) over the service API: list, create, end.

The app does not own incidents: it hands them to an ``IncidentSink`` (wired by the service
to the IVR's IncidentBoard and the store). Without one, these routes answer 503.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from aiohttp import web

from hotline.web.api_common import BadInput, dumps, json_object
from hotline.web.auth import AUTH, json_error, principal
from ivr.incidents import Incident, IncidentError


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


def _fields(message: str) -> list[str]:
    return sorted(set(_FIELD.findall(message))) or ["body"]


def _sink(request: web.Request) -> IncidentSink | None:
    return request.app.get(INCIDENTS)


async def list_incidents(request: web.Request) -> web.Response:
    sink = _sink(request)
    if sink is None:
        return json_error(503, "incidents are not available on this server")
    return web.json_response({"incidents": await sink.list()}, dumps=dumps)


async def create_incident(request: web.Request) -> web.Response:
    sink = _sink(request)
    if sink is None:
        return json_error(503, "incidents are not available on this server")
    try:
        data = await json_object(request)
    except BadInput as error:
        return error.response()
    try:
        Incident.from_json(data)  # validate here, so that a bad body never reaches the sink
        created = await sink.create(data)
    except (IncidentError, ValueError) as error:
        fields = _fields(str(error))
        return web.json_response(
            {"error": str(error), "field": fields[0], "fields": fields}, status=400
        )
    who = principal(request)
    await request.app[AUTH].audit(
        request, who.username, who.role, "incident.create", f"incident:{data.get('id')}"
    )
    return web.json_response(created, status=201, dumps=dumps)


async def end_incident(request: web.Request) -> web.Response:
    sink = _sink(request)
    if sink is None:
        return json_error(503, "incidents are not available on this server")
    incident_id = request.match_info["id"]
    if not await sink.end(incident_id):
        return json_error(404, f"no active incident {incident_id!r}", field="id")
    who = principal(request)
    await request.app[AUTH].audit(
        request, who.username, who.role, "incident.end", f"incident:{incident_id}"
    )
    return web.json_response({"id": incident_id, "status": "ended"})


def add_incident_routes(app: web.Application) -> None:
    app.router.add_get("/api/incidents", list_incidents)
    app.router.add_post("/api/incidents", create_incident)
    app.router.add_post("/api/incidents/{id}/end", end_incident)
