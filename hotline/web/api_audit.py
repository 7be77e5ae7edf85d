"""The access log for auditors, and kiosk links for supervisors."""

from __future__ import annotations

from aiohttp import web

from hotline.web.api_common import dumps, instant, integer, json_object, text
from hotline.web.api_kpi import KPI_PARAMS, TIME, TIME_HELP, web_store
from hotline.web.auth import AUTH, principal
from hotline.web.auth_accounts import create_kiosk, kiosk_url
from hotline.web.auth_table import AUDIT, SUPERVISION
from hotline.web.routes import Param, RouteTable

routes = RouteTable()


@routes.get(
    "/api/access-log",
    AUDIT,
    summary="The access log, newest first",
    query={
        "since": Param(TIME, TIME_HELP),
        "actor": Param({"type": "string"}, "one user's entries"),
        "limit": Param({"type": "integer", "minimum": 1, "maximum": 5000}, "default 500"),
    },
    statuses=(200, 400, 503),
)
async def access_log(request: web.Request) -> web.Response:
    """``GET /api/access-log?since=&actor=&limit=``, newest first as the store gives it."""
    store = web_store(request)
    query = request.query
    zone = request.app[KPI_PARAMS].zone()
    since = instant("since", query["since"], zone) if query.get("since") else None
    limit = integer("limit", query.get("limit"), 500, 1, 5000)
    actor = text("actor", query.get("actor"), max_length=64, required=False)
    entries = await store.access_log(since=since, actor=actor, limit=limit)
    who = principal(request)
    # Reading who did what is itself an access worth recording.
    await request.app[AUTH].audit(request, who.username, who.role, "access_log.read", "access-log")
    return web.json_response({"entries": entries}, dumps=dumps)


@routes.post(
    "/api/kiosks",
    SUPERVISION,
    summary="A wallboard-only login link for a wall screen",
    body={
        "type": "object",
        "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100}},
    },
    statuses=(201, 400, 503),
)
async def new_kiosk(request: web.Request) -> web.Response:
    """``POST /api/kiosks`` ``{"name": "大厅 hall screen"}`` → a wallboard-only link."""
    store = web_store(request)
    body = await json_object(request) if request.can_read_body else {}
    name = text("name", body.get("name", "wallboard screen"), max_length=100)
    assert name is not None
    token = await create_kiosk(store, name)
    username = token.rpartition(".")[0]
    who = principal(request)
    await request.app[AUTH].audit(request, who.username, who.role, "kiosk.create", username)
    base = f"{request.scheme}://{request.host}"
    return web.json_response(
        {"username": username, "token": token, "url": kiosk_url(base, token)}, status=201
    )
