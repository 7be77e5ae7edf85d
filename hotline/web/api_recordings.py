"""Recordings: the call search of supervisors and QA staff, and audited playback.

A recording is fetched by its call's id (``/api/recordings/calls/{id}/audio``) or its
call-back's id (``/api/recordings/callbacks/{id}/audio``), never by file name: the stored path
is resolved under the configured recordings directories (hotline.recording_files) and
anything else is refused. Range requests are answered 206 by aiohttp's FileResponse, so the
browser's player can seek.

Every fetch — each Range request of a playback, each download — is written to the access
log (who, which call, when, the range) *before* a byte is sent; when the log cannot be
written, nothing is served. The access log rather than a table of its own: it is the
append-only audit trail auditors already read (``GET /api/access-log``), made for
exactly this ("logins, playbacks, exports"), and one place answers "who heard what".
Refusals (another agent's call, a path outside the directories) are logged too. An agent
asking for a call they may not hear (another agent's, or any with ``agents_hear_own`` off)
gets the same 404 as for a call that does not exist: the answer must not tell which ids
exist.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Final

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records import OUTCOMES
from hotline.recording_files import RecordingFiles, RecordingRefused
from hotline.settings import AsteriskSettings, RecordingsSettings, Settings
from hotline.web.api_common import dumps, integer, span, text
from hotline.web.api_kpi import KPI_PARAMS, TIME, TIME_HELP
from hotline.web.auth import AUTH, Principal, principal
from hotline.web.auth_table import RECORDINGS
from hotline.web.caller_mask import caller_number_for
from hotline.web.errors import ApiError, BadInput, Unavailable
from hotline.web.routes import Param, RouteTable
from ticketing.recordings import CallSearch, RecordingIndex, call_is_agents

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
# Agents reach the audio routes; the handler lets them through for their own calls only, and
# only when recordings.agents_hear_own is on. Call-back messages are for whoever works the
# call-back list (agents), besides supervisors and QA.
PLAYERS: Final = RECORDINGS | {"agent"}

RECORDING_INDEX = web.AppKey("recording_index", RecordingIndex)
RECORDING_FILES = web.AppKey("recording_files", RecordingFiles)
RECORDING_SETTINGS = web.AppKey("recording_settings", RecordingsSettings)

routes = RouteTable()

_ID = {"id": Param({"type": "integer", "minimum": 1}, "the call's id", required=True)}
_DOWNLOAD = {"download": Param({"type": "string", "enum": ["1"]}, "as an attachment")}


def install(app: web.Application, store: object, settings: Settings | None) -> None:
    """Give the app what these routes need: the store's queries and the recordings dirs."""
    engine = getattr(store, "engine", None)
    if isinstance(engine, AsyncEngine):
        app[RECORDING_INDEX] = RecordingIndex(engine)
    if settings is not None:
        app[RECORDING_FILES] = RecordingFiles.from_settings(settings)
        app[RECORDING_SETTINGS] = settings.recordings
    else:
        app[RECORDING_FILES] = RecordingFiles([AsteriskSettings().recordings_dir])
        app[RECORDING_SETTINGS] = RecordingsSettings()


def recording_index(request: web.Request) -> RecordingIndex:
    index = request.app.get(RECORDING_INDEX)
    if index is None:
        raise Unavailable("no store on this server")
    return index


def _positive_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) < 2**53:
        raise BadInput("id", "an id (a positive integer)", "input.out_of_range")
    return int(raw)


def audio_url(call_id: int) -> str:
    return f"/api/recordings/calls/{call_id}/audio"


def callback_audio_url(callback_id: int) -> str:
    return f"/api/recordings/callbacks/{callback_id}/audio"


def public_call(call: dict[str, Any], role: str) -> dict[str, Any]:
    """What a search shows of a call: no file path; the caller's number as the desk's one
    rule shows it to ``role`` (hotline.web.caller_mask: supervisors in full, QA masked)."""
    recorded = bool(call.get("recording"))
    return {
        "id": call["id"],
        "pbx": call["pbx"],
        "linkedid": call["linkedid"],
        "caller_num": caller_number_for(call.get("caller_num"), role),
        "queue": call["queue"],
        "outcome": call["outcome"],
        "wait_s": call["wait_s"],
        "talk_s": call["talk_s"],
        "answered_by": call["answered_by"],
        "started_at": call["started_at"],
        "answered_at": call["answered_at"],
        "ended_at": call["ended_at"],
        "counted_at": call["counted_at"],
        "ticket": call["ticket"],
        "recorded": recorded,
        "recording_audio": call["recording_audio"],
        "audio_url": audio_url(call["id"]) if recorded else None,
        # A blocklisted nuisance caller, turned away by the IVR (its blocklist entry).
        "blocked": (call.get("vars") or {}).get("HOTLINE_BLOCKED"),
    }


@routes.get(
    "/recordings",
    RECORDINGS,
    summary="The recordings console: search calls, play and download their recordings",
    page=True,
)
async def recordings_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(
        STATIC / "console_recordings.html", headers={"Cache-Control": "no-cache"}
    )


@routes.get(
    "/api/recordings",
    RECORDINGS,
    summary="Search calls (date, agent, queue, number, outcome, talk time), newest first",
    query={
        "from": Param(TIME, TIME_HELP, required=True),
        "to": Param(TIME, TIME_HELP + "; a date includes that whole day", required=True),
        "agent": Param({"type": "string"}, "a username, agent name or member interface"),
        "queue": Param({"type": "string"}, "one queue"),
        "number": Param({"type": "string"}, "the caller's number or a part of it"),
        "outcome": Param({"type": "string", "enum": list(OUTCOMES)}, "the call's outcome"),
        "ticket": Param({"type": "string"}, "a ticket number"),
        "min_talk_s": Param({"type": "integer", "minimum": 0}, "talk time at least"),
        "max_talk_s": Param({"type": "integer", "minimum": 0}, "talk time at most"),
        "recorded": Param({"type": "string", "enum": ["1"]}, "recorded calls only"),
        "blocked": Param({"type": "string", "enum": ["1"]}, "blocklisted callers only (evidence)"),
        "limit": Param({"type": "integer", "minimum": 1, "maximum": 1000}, "default 200"),
    },
    statuses=(200, 400, 503),
)
async def search_calls(request: web.Request) -> web.Response:
    query = request.query
    start, end = span(query, request.app[KPI_PARAMS].zone())
    outcome = text("outcome", query.get("outcome"), max_length=32, required=False)
    if outcome is not None and outcome not in OUTCOMES:
        raise BadInput("outcome", f"one of {', '.join(OUTCOMES)}", "input.choice")
    number = text("number", query.get("number"), max_length=64, required=False)
    search = CallSearch(
        start,
        end,
        agent=text("agent", query.get("agent"), max_length=128, required=False),
        queue=text("queue", query.get("queue"), max_length=80, required=False),
        number=number,
        outcome=outcome,
        min_talk_s=_optional_int("min_talk_s", query.get("min_talk_s")),
        max_talk_s=_optional_int("max_talk_s", query.get("max_talk_s")),
        ticket=text("ticket", query.get("ticket"), max_length=40, required=False),
        recorded_only=query.get("recorded") == "1",
        blocked_only=query.get("blocked") == "1",
        limit=integer("limit", query.get("limit"), 200, 1, 1000),
    )
    found, more = await recording_index(request).search(search)
    who = principal(request)
    # Which calls someone looked for (a number searched for is personal data too).
    filters = {k: v for k, v in query.items() if k != "limit"}
    await request.app[AUTH].audit(
        request, who.username, who.role, "recording.search", "calls", {"query": filters}
    )
    return web.json_response(
        {"calls": [public_call(call, who.role) for call in found], "truncated": more}, dumps=dumps
    )


def _optional_int(field: str, value: str | None) -> int | None:
    return None if value in (None, "") else integer(field, value, 0, 0, 10**7)


async def _refuse(request: web.Request, who: Principal, target: str, why: str) -> None:
    await request.app[AUTH].audit(
        request, who.username, who.role, "recording.refused", target, {"reason": why}
    )


def _not_found() -> ApiError:
    return ApiError("recording.not_found", "no such call, or it has no recording", None, 404)


def _serve(path: Path, download: bool, name: str) -> web.FileResponse:
    headers = {
        "Content-Type": "audio/wav",
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'{"attachment" if download else "inline"}; filename="{name}"',
    }
    return web.FileResponse(path, headers=headers)


async def _resolve(request: web.Request, who: Principal, target: str, stored: str | None) -> Path:
    try:
        return request.app[RECORDING_FILES].resolve(stored)
    except RecordingRefused as refused:
        if refused.reason.startswith("outside"):
            log.warning("recording path outside the recordings directories refused: %r", stored)
            await request.app[AUTH].audit(
                request, who.username, who.role, "recording.refused", target,
                {"reason": refused.reason},
            )  # fmt: skip
            raise ApiError(
                "recording.refused", "the recording is not in a recordings directory", None, 403
            ) from None
        raise ApiError(
            "recording.gone", f"the recording file: {refused.reason}", None, 404
        ) from None


async def _log_fetch(
    request: web.Request, who: Principal, target: str, detail: dict[str, Any]
) -> bool:
    download = request.query.get("download") == "1"
    action = "recording.download" if download else "recording.play"
    detail = {**detail, "range": request.headers.get("Range"), "method": request.method}
    # No log entry, no playback: a failed write refuses (503 from the error middleware).
    await request.app[AUTH].audit(request, who.username, who.role, action, target, detail)
    return download


@routes.get(
    "/api/recordings/calls/{id}/audio",
    PLAYERS,
    summary="A call's recording (WAV; Range requests answer 206); every fetch is logged",
    path_params=_ID,
    query=_DOWNLOAD,
    statuses=(200, 206, 400, 403, 404, 416, 503),
    page=True,
)
async def call_audio(request: web.Request) -> web.StreamResponse:
    call_id = _positive_id(request)
    index = recording_index(request)
    who = principal(request)
    target = f"call:{call_id}"
    call = await index.call(call_id)
    if call is None or not call.get("recording"):
        raise _not_found()
    if who.role == "agent":
        # A recording an agent may not hear answers exactly like one that does not exist,
        # so an agent cannot learn which ids have recordings; the refusal is still audited.
        if not request.app[RECORDING_SETTINGS].agents_hear_own:
            await _refuse(request, who, target, "agents may not play recordings here")
            raise _not_found()
        agent = await index.agent_of(who.username)
        if agent is None or not call_is_agents(call, agent):
            await _refuse(request, who, target, "an agent may play only their own calls")
            raise _not_found()
    path = await _resolve(request, who, target, call["recording"])
    download = await _log_fetch(request, who, target, {"ticket": call["ticket"]})
    return _serve(path, download, f"call-{call_id}.wav")


@routes.get(
    "/api/recordings/callbacks/{id}/audio",
    PLAYERS,
    summary="A call-back's recorded message (WAV, Range requests); every fetch is logged",
    path_params={"id": Param({"type": "integer", "minimum": 1}, "the call-back", required=True)},
    query=_DOWNLOAD,
    statuses=(200, 206, 400, 403, 404, 416, 503),
    page=True,
)
async def callback_audio(request: web.Request) -> web.StreamResponse:
    callback_id = _positive_id(request)
    entry = await recording_index(request).callback_message(callback_id)
    if entry is None or not entry.get("message_path"):
        raise ApiError("recording.not_found", "no such call-back, or it has no message", None, 404)
    who = principal(request)
    target = f"callback:{callback_id}"
    path = await _resolve(request, who, target, entry["message_path"])
    download = await _log_fetch(request, who, target, {})
    return _serve(path, download, f"callback-{callback_id}.wav")
