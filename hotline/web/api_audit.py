"""The access log for auditors, and kiosk links for supervisors."""

from __future__ import annotations

from aiohttp import web

from hotline.web.api_common import BadInput, dumps, instant, json_object
from hotline.web.api_kpi import KPI_PARAMS, WEB_STORE
from hotline.web.auth import AUTH, json_error, principal
from hotline.web.auth_accounts import create_kiosk, kiosk_url


async def access_log(request: web.Request) -> web.Response:
    """``GET /api/access-log?since=&actor=&limit=``, newest first as the store gives it."""
    store = request.app.get(WEB_STORE)
    if store is None:
        return json_error(503, "no store on this server")
    query = request.query
    try:
        since = (
            instant("since", query["since"], request.app[KPI_PARAMS].zone())
            if query.get("since")
            else None
        )
        limit_text = query.get("limit", "500")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 5000:
            raise BadInput("limit", "an integer from 1 to 5000")
    except BadInput as error:
        return error.response()
    entries = await store.access_log(
        since=since, actor=query.get("actor") or None, limit=int(limit_text)
    )
    who = principal(request)
    # Reading who did what is itself an access worth recording.
    await request.app[AUTH].audit(request, who.username, who.role, "access_log.read", "access-log")
    return web.json_response({"entries": entries}, dumps=dumps)


async def new_kiosk(request: web.Request) -> web.Response:
    """``POST /api/kiosks`` ``{"name": "大厅 hall screen"}`` → a wallboard-only link."""
    store = request.app.get(WEB_STORE)
    if store is None:
        return json_error(503, "no store on this server")
    try:
        body = await json_object(request) if request.can_read_body else {}
        name = body.get("name", "wallboard screen")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise BadInput("name", "a non-empty string of at most 100 characters")
    except BadInput as error:
        return error.response()
    token = await create_kiosk(store, name.strip())
    username = token.rpartition(".")[0]
    who = principal(request)
    await request.app[AUTH].audit(request, who.username, who.role, "kiosk.create", username)
    base = f"{request.scheme}://{request.host}"
    return web.json_response(
        {"username": username, "token": token, "url": kiosk_url(base, token)}, status=201
    )


def add_audit_routes(app: web.Application) -> None:
    app.router.add_get("/api/access-log", access_log)
    app.router.add_post("/api/kiosks", new_kiosk)
