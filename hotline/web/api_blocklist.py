"""The nuisance-number blocklist (骚扰号码): supervisors add a number with a reason and an
expiry, and remove it; auditors read every entry with who added and removed it. The IVR
polls the same table (hotline/blocklist_poller.py): a blocked caller hears a notice, the
call is recorded as evidence and marked (HOTLINE_BLOCKED), then ended.

Each change is also written to the access log (``blocklist.add`` / ``blocklist.remove``);
the table never deletes a row, so it is the audit of its own history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.web.api_common import dumps, instant, integer, json_object, text
from hotline.web.api_kpi import KPI_PARAMS, TIME
from hotline.web.auth import AUTH, principal
from hotline.web.auth_table import AUDIT, SUPERVISION
from hotline.web.caller_mask import caller_number_for
from hotline.web.errors import ApiError, BadInput, Unavailable
from hotline.web.routes import Param, RouteTable
from hotline.web.wallboard import mask_number
from ticketing.blocklist import MAX_DAYS, BlocklistError, NumberBlocklist

STATIC = Path(__file__).parent / "static"
BLOCKLIST = web.AppKey("blocklist", NumberBlocklist)

routes = RouteTable()

_ADD = {
    "type": "object",
    "required": ["number", "reason"],
    "properties": {
        "number": {"type": "string", "maxLength": 32},
        "reason": {"type": "string", "minLength": 1, "maxLength": 500},
        "days": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
        "expires_at": TIME,
    },
}
_REMOVE = {"type": "object", "properties": {"reason": {"type": "string", "maxLength": 500}}}


def install(app: web.Application, store: object) -> None:
    engine = getattr(store, "engine", None)
    if isinstance(engine, AsyncEngine):
        app[BLOCKLIST] = NumberBlocklist(engine)


def _blocklist(request: web.Request) -> NumberBlocklist:
    blocklist = request.app.get(BLOCKLIST)
    if blocklist is None:
        raise Unavailable("no store on this server")
    return blocklist


def _shown(entry: dict[str, Any], role: str) -> dict[str, Any]:
    return {**entry, "number": caller_number_for(entry["number"], role)}


def _refused(error: BlocklistError) -> ApiError:
    if error.field is None:
        return ApiError("blocklist.not_found", error.message, None, 404)
    return BadInput(error.field, error.message, "blocklist.invalid")


@routes.get("/blocklist", SUPERVISION | AUDIT, summary="The blocklist console", page=True)
async def blocklist_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(
        STATIC / "console_blocklist.html", headers={"Cache-Control": "no-cache"}
    )


@routes.get(
    "/api/blocklist",
    SUPERVISION | AUDIT,
    summary="Blocked numbers, newest first (history=1: removed and expired ones too)",
    query={"history": Param({"type": "string", "enum": ["1"]}, "every entry ever")},
    statuses=(200, 503),
)
async def list_blocked(request: web.Request) -> web.Response:
    history = request.query.get("history") == "1"
    entries = await _blocklist(request).entries(history=history)
    role = principal(request).role
    return web.json_response({"entries": [_shown(e, role) for e in entries]}, dumps=dumps)


@routes.post(
    "/api/blocklist",
    SUPERVISION,
    summary="Block a nuisance number until it expires (days, or expires_at)",
    body=_ADD,
    statuses=(201, 400, 503),
)
async def add_blocked(request: web.Request) -> web.Response:
    blocklist = _blocklist(request)
    body = await json_object(request)
    unknown = sorted(set(body) - set(_ADD["properties"]))
    if unknown:
        raise BadInput(unknown[0], "unknown field", "input.unknown_field")
    number = text("number", body.get("number"), max_length=32)
    reason = text("reason", body.get("reason"), max_length=500)
    assert number is not None and reason is not None
    now = datetime.now(UTC)
    if body.get("expires_at") is not None:
        expires = instant("expires_at", body["expires_at"], request.app[KPI_PARAMS].zone())
    else:
        days = body.get("days", 30)
        if isinstance(days, bool) or not isinstance(days, int):
            raise BadInput("days", f"an integer from 1 to {MAX_DAYS}", "input.out_of_range")
        integer("days", str(days), 30, 1, MAX_DAYS)
        expires = now + timedelta(days=days)
    who = principal(request)
    try:
        entry = await blocklist.add(number, reason, expires, who.username, now=now)
    except BlocklistError as error:
        raise _refused(error) from None
    detail = {"number": mask_number(entry["number"]), "reason": reason,
              "expires_at": entry["expires_at"]}  # fmt: skip
    await request.app[AUTH].audit(
        request, who.username, who.role, "blocklist.add", f"blocklist:{entry['id']}", detail
    )
    return web.json_response(_shown(entry, who.role), status=201, dumps=dumps)


@routes.post(
    "/api/blocklist/{id}/remove",
    SUPERVISION,
    summary="Unblock: end an active entry now (it stays in the history)",
    path_params={"id": Param({"type": "integer", "minimum": 1}, "the entry", required=True)},
    body=_REMOVE,
    statuses=(200, 400, 404, 503),
)
async def remove_blocked(request: web.Request) -> web.Response:
    blocklist = _blocklist(request)
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) < 2**53:
        raise BadInput("id", "an entry id (a positive integer)", "input.out_of_range")
    body = await json_object(request) if request.can_read_body else {}
    unknown = sorted(set(body) - {"reason"})
    if unknown:
        raise BadInput(unknown[0], "unknown field", "input.unknown_field")
    reason = text("reason", body.get("reason"), max_length=500, required=False)
    who = principal(request)
    try:
        entry = await blocklist.remove(int(raw), who.username, reason, now=datetime.now(UTC))
    except BlocklistError as error:
        raise _refused(error) from None
    await request.app[AUTH].audit(
        request, who.username, who.role, "blocklist.remove", f"blocklist:{raw}",
        {"number": mask_number(entry["number"]), "reason": reason},
    )  # fmt: skip
    return web.json_response(_shown(entry, who.role), dumps=dumps)
