"""KPI figures over stored calls, and the exclusion windows the figures leave out."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from acd.kpi import KpiParams, compute
from hotline.web.api_common import BadInput, dumps, instant, integer, json_object, span, text
from hotline.web.auth import AUTH, principal
from hotline.web.auth_store import WebStore
from hotline.web.auth_table import FIGURES, SUPERVISION
from hotline.web.errors import ApiError, Unavailable
from hotline.web.kpi_export import to_csv, to_xlsx
from hotline.web.routes import Param, RouteTable
from hotline.web.wallboard import mask_callers

KPI_PARAMS = web.AppKey("kpi_params", KpiParams)
WEB_STORE: web.AppKey[WebStore] = web.AppKey("web_store")
# Called after a window is added or removed: today's live KPIs recount (hotline.wiring.kpi).
EXCLUSIONS_CHANGED: web.AppKey[Callable[[], Awaitable[None]]] = web.AppKey("exclusions_changed")

log = logging.getLogger(__name__)


async def _recount_live(request: web.Request) -> None:
    changed = request.app.get(EXCLUSIONS_CHANGED)
    if changed is None:
        return
    try:
        await changed()
    except Exception:
        # The window is stored (the reports and the next start use it); only today's live
        # figures lag until the next change or restart — said loudly, not silently.
        log.exception("exclusion windows changed but the live KPIs could not recount")


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
    return web.json_response(await _report(request), dumps=dumps)


async def _report(request: web.Request) -> dict[str, Any]:
    """The KPI report of the request's span, queue and PBX, callers masked."""
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
    masked: dict[str, Any] = mask_callers(body)
    return masked


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
    rows = await store.exclusion_list(start, end)
    return web.json_response(
        {
            "exclusions": [
                {
                    **_window((r["start"], r["end"], r["reason"])),
                    "id": r["id"],
                    "created_by": r["created_by"],
                }
                for r in rows
            ]
        }
    )


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
    await _recount_live(request)
    await request.app[AUTH].audit(
        request,
        who.username,
        who.role,
        "kpi.exclusion.add",
        f"exclusion:{window_id}",
        {"start": start.isoformat(), "end": end.isoformat(), "reason": reason},
    )
    return web.json_response({"id": window_id, **_window((start, end, reason))}, status=201)


@routes.post(
    "/api/kpi/exclusions/{id}/remove",
    SUPERVISION,
    summary="Remove an exclusion window: its calls count again (logged with what it was)",
    path_params={"id": Param({"type": "integer"}, "the window's id", required=True)},
    statuses=(200, 400, 404, 503),
)
async def remove_exclusion(request: web.Request) -> web.Response:
    store = web_store(request)
    window_id = integer("id", request.match_info["id"], 0, 1, 999_999_999)
    removed = await store.remove_exclusion(window_id)
    if removed is None:
        raise ApiError("kpi.exclusion_not_found", f"no exclusion window {window_id}", "id", 404)
    await _recount_live(request)
    window = _window((removed["start"], removed["end"], removed["reason"]))
    who = principal(request)
    await request.app[AUTH].audit(
        request,
        who.username,
        who.role,
        "kpi.exclusion.remove",
        f"exclusion:{window_id}",
        {**window, "created_by": removed["created_by"]},
    )
    return web.json_response({"id": window_id, **window})


_FORMATS = {
    "csv": ("text/csv; charset=utf-8", to_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", to_xlsx),
}


@routes.get(
    "/api/kpi/export",
    FIGURES,
    summary="The KPI report of a span as a file: CSV (long form) or XLSX (one sheet per table)",
    query={
        "from": Param(TIME, TIME_HELP, required=True),
        "to": Param(TIME, TIME_HELP + "; a date includes that whole day", required=True),
        "queue": Param({"type": "string"}, "one queue's legs only"),
        "pbx": Param({"type": "string"}, "one PBX's calls only (default: all PBXs summed)"),
        "format": Param({"type": "string", "enum": ["csv", "xlsx"]}, "csv (default) or xlsx"),
    },
    statuses=(200, 400, 503),
    page=True,  # a file, not JSON
)
async def kpi_export(request: web.Request) -> web.StreamResponse:
    """``GET /api/kpi/export?from=&to=&queue=&pbx=&format=csv|xlsx``: what /api/kpi shows."""
    kind = request.query.get("format", "csv")
    if kind not in _FORMATS:
        raise BadInput("format", "csv or xlsx", "input.choice")
    body = await _report(request)
    content_type, render = _FORMATS[kind]
    scope = body["queue"] or body["pbx"] or "全部 all"
    data = await asyncio.to_thread(render, body, scope)
    first, last = request.query["from"], request.query["to"]
    name = re.sub(r"[^0-9A-Za-z_.-]", "_", f"kpi-{first[:10]}-{last[:10]}")
    who = principal(request)
    await request.app[AUTH].audit(
        request,
        who.username,
        who.role,
        "kpi.export",
        "kpi",
        {"from": body["from"], "to": body["to"], "queue": body["queue"], "format": kind},
    )
    return web.Response(
        body=data,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{name}.{kind}"',
            "Cache-Control": "no-store",
        },
    )
