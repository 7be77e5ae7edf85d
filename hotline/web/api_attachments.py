"""Case attachments over the API (附件): upload a file, get its reference for an action's
``attachments`` field; fetch it back. Unit staff fetch only the files of cases they may see
(their unit's and sub-units'); the hotline's staff fetch any case's."""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

from aiohttp import web

from hotline.case_files import CaseFiles, TooLarge, clean_name, digest_of
from hotline.web.api_cases import ACTORS, READERS, case_actor, case_store, concerns, scope_of
from hotline.web.errors import ApiError, BadInput, Unavailable
from hotline.web.routes import Param, RouteTable

CASE_FILES: Final = web.AppKey("case_files", CaseFiles)

routes = RouteTable()


def _files(request: web.Request) -> CaseFiles:
    files = request.app.get(CASE_FILES)
    if files is None:
        raise Unavailable("no attachment directory on this server (cases.attachments_dir)")
    return files


@routes.post(
    "/api/attachments",
    ACTORS,
    summary="Upload an attachment (the raw bytes as the body); answers its reference "
    "file:sha256:… for an action's attachments",
    query={"name": Param({"type": "string", "maxLength": 200}, "the file's name")},
    statuses=(201, 400, 403, 413, 503),
)
async def upload(request: web.Request) -> web.Response:
    files = _files(request)
    name = clean_name(request.query.get("name", ""))
    try:
        saved = await files.save(request.content.iter_chunked(64 * 1024), name)
    except TooLarge as error:
        raise ApiError("attachment.too_large", str(error), "body", 413) from None
    return web.json_response(saved, status=201)


@routes.get(
    "/api/attachments/{digest}",
    READERS,
    summary="An attachment by its SHA-256, as a download (only of cases the caller may see)",
    path_params={"digest": Param({"type": "string"}, "the file's SHA-256", required=True)},
    statuses=(200, 400, 403, 404, 503),
    page=True,  # a file, not JSON
)
async def fetch(request: web.Request) -> web.StreamResponse:
    files = _files(request)
    digest = digest_of(request.match_info["digest"])
    if digest is None:
        raise BadInput("digest", "not a SHA-256 in hex", "input.text")
    store = case_store(request)
    actor = await case_actor(request, store)
    scope = await scope_of(store, actor)
    found = files.find(digest)
    if scope is not None and found is not None:
        cases = await store.cases_referencing("file:sha256:" + digest)
        if not any(concerns(case, scope) for case in cases):
            found = None  # another unit's file: its existence is not theirs to know
    if found is None:
        raise ApiError("attachment.not_found", "no such attachment", "digest", 404)
    path, meta = found
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(meta['name'])}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
