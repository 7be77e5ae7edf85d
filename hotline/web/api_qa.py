"""QA (质检) of recorded calls: the scorecard, the monthly spot-check sample per agent, scoring
a call item by item with comments, the scores and the monthly 100-point agent score; agents
read their own (``/api/qa/mine``). The work is ticketing.qa's; the scorecard is the settings'
``[[qa.scorecard]]``. Each score given is also written to the access log (``qa.score``).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.settings import QaSettings, Settings
from hotline.web.api_common import dumps, integer, json_object, text
from hotline.web.api_kpi import KPI_PARAMS
from hotline.web.api_recordings import RECORDING_SETTINGS, audio_url
from hotline.web.auth import AUTH, principal
from hotline.web.auth_table import RECORDINGS
from hotline.web.errors import ApiError, BadInput, Unavailable
from hotline.web.routes import Param, RouteTable
from ticketing.qa import QaDesk, QaError, ScorecardItem

STATIC = Path(__file__).parent / "static"
QA_DESK = web.AppKey("qa_desk", QaDesk)
QA_SETTINGS = web.AppKey("qa_settings", QaSettings)
# QA staff and supervisors score; agents read the scorecard and their own scores.
READERS: Final = RECORDINGS | {"agent"}
_MONTH = re.compile(r"(\d{4})-(\d{2})")
MONTH = Param({"type": "string", "example": "2026-11"}, "YYYY-MM (default: this month)")

routes = RouteTable()


def install(app: web.Application, store: object, settings: Settings | None) -> None:
    qa = settings.qa if settings is not None else QaSettings()
    app[QA_SETTINGS] = qa
    engine = getattr(store, "engine", None)
    if isinstance(engine, AsyncEngine):
        scorecard = [
            ScorecardItem(i.id, i.label, i.points, i.kind, tuple(i.phrases)) for i in qa.scorecard
        ]
        app[QA_DESK] = QaDesk(engine, scorecard)


def _desk(request: web.Request) -> QaDesk:
    desk = request.app.get(QA_DESK)
    if desk is None:
        raise Unavailable("no store on this server")
    return desk


def _month(request: web.Request) -> tuple[str, datetime, datetime]:
    zone: ZoneInfo = request.app[KPI_PARAMS].zone()
    raw = request.query.get("month") or datetime.now(zone).strftime("%Y-%m")
    found = _MONTH.fullmatch(raw)
    if not found or not 1970 <= int(found.group(1)) < 2200 or not 1 <= int(found.group(2)) <= 12:
        raise BadInput("month", "a month as YYYY-MM", "input.time")
    year, month = int(found.group(1)), int(found.group(2))
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return raw, start, end


def _refused(error: QaError) -> ApiError:
    status = {"invalid": 400, "not_found": 404, "scored": 409}[error.kind]
    return ApiError(f"qa.{error.kind}", error.message, error.field, status)


@routes.get("/qa", READERS, summary="The QA console: spot checks, scoring, scores", page=True)
async def qa_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "console_qa.html", headers={"Cache-Control": "no-cache"})


@routes.get("/api/qa/scorecard", READERS, summary="The QA scorecard: items, points, checks")
async def scorecard(request: web.Request) -> web.Response:
    qa = request.app[QA_SETTINGS]
    return web.json_response({"items": [item.model_dump() for item in qa.scorecard]})


@routes.get(
    "/api/qa/sample",
    RECORDINGS,
    summary="The month's random spot-check sample per agent (reproducible: seeded)",
    query={"month": MONTH, "per_agent": Param({"type": "integer", "minimum": 1}, "calls each")},
    statuses=(200, 400, 503),
)
async def sample(request: web.Request) -> web.Response:
    qa = request.app[QA_SETTINGS]
    label, start, end = _month(request)
    per_agent = integer("per_agent", request.query.get("per_agent"), qa.sample_per_agent, 1, 200)
    picked = await _desk(request).sample(start, end, per_agent, qa.sample_seed, label)
    for call in picked:
        call["audio_url"] = audio_url(call["call_id"])
    return web.json_response({"month": label, "calls": picked}, dumps=dumps)


@routes.post(
    "/api/qa/scores",
    RECORDINGS,
    summary="Score a recorded call: every scorecard item's points, a comment where marked down",
    body={
        "type": "object",
        "required": ["call_id", "items"],
        "properties": {
            "call_id": {"type": "integer", "minimum": 1},
            "items": {"type": "array", "items": {"type": "object"}},
            "comment": {"type": "string", "maxLength": 1000},
        },
    },
    statuses=(201, 400, 404, 409, 503),
)
async def give_score(request: web.Request) -> web.Response:
    desk = _desk(request)
    body = await json_object(request)
    unknown = sorted(set(body) - {"call_id", "items", "comment"})
    if unknown:
        raise BadInput(unknown[0], "unknown field", "input.unknown_field")
    call_id = body.get("call_id")
    if isinstance(call_id, bool) or not isinstance(call_id, int) or not 0 < call_id < 2**53:
        raise BadInput("call_id", "a call id (a positive integer)", "input.out_of_range")
    items = body.get("items")
    if not isinstance(items, list):
        raise BadInput("items", "a list of {id, points, comment}", "qa.invalid")
    comment = text("comment", body.get("comment"), max_length=1000, required=False)
    who = principal(request)
    try:
        score = await desk.score(call_id, items, who.username, comment)
    except QaError as error:
        raise _refused(error) from None
    await request.app[AUTH].audit(
        request, who.username, who.role, "qa.score", f"call:{call_id}",
        {"total": score["total"], "agent": score["agent"]},
    )  # fmt: skip
    return web.json_response(score, status=201, dumps=dumps)


@routes.get(
    "/api/qa/scores",
    RECORDINGS,
    summary="Scores of a month's calls (of one agent), newest first",
    query={"month": MONTH, "agent": Param({"type": "string"}, "an agent's username or name")},
    statuses=(200, 400, 503),
)
async def list_scores(request: web.Request) -> web.Response:
    label, start, end = _month(request)
    agent = text("agent", request.query.get("agent"), max_length=128, required=False)
    scores = await _desk(request).scores(start, end, agent)
    return web.json_response({"month": label, "scores": scores}, dumps=dumps)


@routes.get(
    "/api/qa/monthly",
    RECORDINGS,
    summary="Each agent's 100-point QA score of a month (the mean of their scored calls)",
    query={"month": MONTH},
    statuses=(200, 400, 503),
)
async def monthly(request: web.Request) -> web.Response:
    label, start, end = _month(request)
    return web.json_response(
        {"month": label, "agents": await _desk(request).monthly(start, end)}, dumps=dumps
    )


@routes.get(
    "/api/qa/mine",
    frozenset({"agent"}),
    summary="The signed-in agent's own QA scores and 100-point score of a month",
    query={"month": MONTH},
    statuses=(200, 400, 503),
)
async def my_scores(request: web.Request) -> web.Response:
    label, start, end = _month(request)
    desk = _desk(request)
    me = principal(request).username
    scores = await desk.scores(start, end, me)
    # The agent may hear the scored call only where recordings.agents_hear_own allows it.
    hear = request.app[RECORDING_SETTINGS].agents_hear_own
    for score in scores:
        score["audio_url"] = audio_url(score["call_id"]) if hear else None
    month: list[dict[str, Any]] = await desk.monthly(start, end, me)
    return web.json_response(
        {"month": label, "agent": me, "score": month[0] if month else None, "scores": scores},
        dumps=dumps,
    )
