"""KPI figures over stored calls, and the exclusion windows the figures leave out."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from acd.kpi import KpiParams, compute
from hotline.web.api_common import BadInput, dumps, instant, json_object, span, text
from hotline.web.auth import AUTH, principal
from hotline.web.auth_store import WebStore
from hotline.web.auth_table import FIGURES, SUPERVISION
from hotline.web.errors import Unavailable
from hotline.web.routes import Param, RouteTable
from hotline.web.wallboard import mask_callers

KPI_PARAMS = web.AppKey("kpi_params", KpiParams)
WEB_STORE: web.AppKey[WebStore] = web.AppKey("web_store")

TIME = {"type": "string", "example": "2026-11-25"}
TIME_HELP = "ISO 8601 time with zone, or YYYY-MM-DD (in kpi.timezone)"

routes = RouteTable()


def web_store(request: web.Request) -> WebStore:
    store = request.app.get(WEB_STORE)
    if store is None:
        raise Unavailable("no store on this server")
    return store


@routes.get(
    "/api/kpi",
    FIGURES,
    summary="KPI figures over the stored calls of a span (acd.kpi.compute)",
    query={
        "from": Param(TIME, TIME_HELP, required=True),
        "to": Param(TIME, TIME_HELP + "; a date includes that whole day", required=True),
        "queue": Param({"type": "string"}, "one queue's legs only"),
        "pbx": Param({"type": "string"}, "one PBX's calls only (default: all PBXs summed)"),
    },
    statuses=(200, 400, 503),
)
async def kpi_report(request: web.Request) -> web.Response:
    """``GET /api/kpi?from=&to=&queue=&pbx=``: acd.kpi.compute over the stored calls (of one
    queue, of one PBX; all PBXs summed by default, ``by_pbx`` splits them)."""
    store = web_store(request)
    params = request.app[KPI_PARAMS]
    start, end = span(request.query, params.zone())
    queue = text("queue", request.query.get("queue"), max_length=128, required=False)
    pbx = text("pbx", request.query.get("pbx"), max_length=64, required=False)
    records = await store.calls_between(start, end, queue, pbx)
    exclusions = await store.exclusions_between(start, end)
    report = compute(records, params, exclusions).to_json()
    body = {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "queue": queue,
        "pbx": pbx,
        **report,
    }
    # Rejected records are listed with their keys; a caller number must not leak through them.
    return web.json_response(mask_callers(body), dumps=dumps)


def _window(row: tuple[datetime, datetime, str]) -> dict[str, Any]:
    start, end, reason = row
    return {"start": start.isoformat(), "end": end.isoformat(), "reason": reason}


@routes.get(
    "/api/kpi/exclusions",
    SUPERVISION,
    summary="Exclusion windows; default: the last 30 days and the next 30",
    query={"from": Param(TIME, TIME_HELP), "to": Param(TIME, TIME_HELP)},
    statuses=(200, 400, 503),
)
async def list_exclusions(request: web.Request) -> web.Response:
    """``GET /api/kpi/exclusions?from=&to=``; default: the last 30 days and the next 30."""
    store = web_store(request)
    zone = request.app[KPI_PARAMS].zone()
    if "from" in request.query or "to" in request.query:
        start, end = span(request.query, zone, max_days=3660)
    else:
        now = datetime.now(zone)
        start, end = now - timedelta(days=30), now + timedelta(days=30)
    rows = await store.exclusions_between(start, end)
    return web.json_response({"exclusions": [_window(row) for row in rows]})


@routes.post(
    "/api/kpi/exclusions",
    SUPERVISION,
    summary="Leave the calls of a window out of the figures (sudden incident, system fault)",
    body={
        "type": "object",
        "properties": {
            "start": TIME,
            "end": TIME,
            "reason": {"type": "string", "maxLength": 500},
        },
        "required": ["start", "end", "reason"],
        "additionalProperties": False,
    },
    statuses=(201, 400, 503),
)
async def add_exclusion(request: web.Request) -> web.Response:
    """``POST /api/kpi/exclusions`` ``{"start", "end", "reason"}``."""
    store = web_store(request)
    zone = request.app[KPI_PARAMS].zone()
    body = await json_object(request)
    unknown = sorted(set(body) - {"start", "end", "reason"})
    if unknown:
        raise BadInput(unknown[0], "unknown field", "input.unknown_field")
    start = instant("start", body.get("start"), zone)
    end = instant("end", body.get("end"), zone)
    if end <= start:
        raise BadInput("end", "must be after start", "input.span")
    reason = text("reason", body.get("reason"), max_length=500)
    assert reason is not None
    who = principal(request)
    window_id = await store.add_exclusion(start, end, reason, who.username)
    await request.app[AUTH].audit(
        request,
        who.username,
        who.role,
        "kpi.exclusion.add",
        f"exclusion:{window_id}",
        {"start": start.isoformat(), "end": end.isoformat(), "reason": reason},
    )
    return web.json_response({"id": window_id, **_window((start, end, reason))}, status=201)
