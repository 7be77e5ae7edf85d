"""KPI figures over stored calls, and the exclusion windows the figures leave out."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from acd.kpi import KpiParams, compute
from hotline.web.api_common import BadInput, dumps, instant, json_object, span
from hotline.web.auth import AUTH, json_error, principal
from hotline.web.auth_store import WebStore
from hotline.web.wallboard import mask_callers

KPI_PARAMS = web.AppKey("kpi_params", KpiParams)
WEB_STORE: web.AppKey[WebStore] = web.AppKey("web_store")


def _store(request: web.Request) -> WebStore | None:
    return request.app.get(WEB_STORE)


async def kpi_report(request: web.Request) -> web.Response:
    """``GET /api/kpi?from=&to=&queue=&pbx=``: acd.kpi.compute over the stored calls (of one
    queue, of one PBX; all PBXs summed by default, ``by_pbx`` splits them)."""
    store = _store(request)
    if store is None:
        return json_error(503, "no call store on this server")
    params = request.app[KPI_PARAMS]
    try:
        start, end = span(request.query, params.zone())
    except BadInput as error:
        return error.response()
    queue = request.query.get("queue") or None
    pbx = request.query.get("pbx") or None
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


async def list_exclusions(request: web.Request) -> web.Response:
    """``GET /api/kpi/exclusions?from=&to=``; default: the last 30 days and the next 30."""
    store = _store(request)
    if store is None:
        return json_error(503, "no call store on this server")
    zone = request.app[KPI_PARAMS].zone()
    try:
        if "from" in request.query or "to" in request.query:
            start, end = span(request.query, zone, max_days=3660)
        else:
            now = datetime.now(zone)
            start, end = now - timedelta(days=30), now + timedelta(days=30)
    except BadInput as error:
        return error.response()
    rows = await store.exclusions_between(start, end)
    return web.json_response({"exclusions": [_window(row) for row in rows]})


async def add_exclusion(request: web.Request) -> web.Response:
    """``POST /api/kpi/exclusions`` ``{"start", "end", "reason"}``."""
    store = _store(request)
    if store is None:
        return json_error(503, "no call store on this server")
    zone = request.app[KPI_PARAMS].zone()
    try:
        body = await json_object(request)
        unknown = sorted(set(body) - {"start", "end", "reason"})
        if unknown:
            raise BadInput(unknown[0], "unknown field")
        start = instant("start", body.get("start"), zone)
        end = instant("end", body.get("end"), zone)
        if end <= start:
            raise BadInput("end", "must be after start")
        reason = body.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise BadInput("reason", "required: why these calls are left out")
        if len(reason) > 500:
            raise BadInput("reason", "at most 500 characters")
    except BadInput as error:
        return error.response()
    who = principal(request)
    window_id = await store.add_exclusion(start, end, reason.strip(), who.username)
    await request.app[AUTH].audit(
        request,
        who.username,
        who.role,
        "kpi.exclusion.add",
        f"exclusion:{window_id}",
        {"start": start.isoformat(), "end": end.isoformat(), "reason": reason.strip()},
    )
    return web.json_response({"id": window_id, **_window((start, end, reason.strip()))}, status=201)


def add_kpi_routes(app: web.Application) -> None:
    app.router.add_get("/api/kpi", kpi_report)
    app.router.add_get("/api/kpi/exclusions", list_exclusions)
    app.router.add_post("/api/kpi/exclusions", add_exclusion)
