"""Staffing (排班) over the service API: a day's Erlang C plan per half hour, forecast from
the same weekday of recent weeks, or with calls (and AHT, target) typed in. Read only:
planning changes nothing stored. Without the planner these routes answer 503.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from aiohttp import web

from acd.staffing import SLOTS_PER_DAY, StaffingPlanner, Target
from hotline.web.api_common import dumps, json_object
from hotline.web.auth_table import FIGURES
from hotline.web.errors import BadInput, Unavailable
from hotline.web.routes import Param, RouteTable

PLANNER: web.AppKey[StaffingPlanner] = web.AppKey("staffing_planner")

_DATE = Param({"type": "string", "format": "date"}, "the day to plan (YYYY-MM-DD)", True)
_PLAN_BODY = {
    "type": "object",
    "properties": {
        "date": {"type": "string", "format": "date"},
        "calls": {
            "type": "object",
            "description": "typed calls per half hour: slot (0 = 00:00 … 47 = 23:30) → calls",
            "additionalProperties": {"type": "number"},
        },
        "aht_s": {"type": "number", "description": "handling time for every slot (else history)"},
        "service_level": {"type": "number", "example": 0.8},
        "answer_s": {"type": "number", "example": 15},
        "max_occupancy": {"type": "number", "example": 1.0},
    },
    "required": ["date"],
}
_FIELDS = {"date", "calls", "aht_s", "service_level", "answer_s", "max_occupancy"}
# The most calls one half hour may be typed with (a big city's whole day is well below).
MAX_CALLS = 100_000

routes = RouteTable()


def install(app: web.Application, planner: StaffingPlanner | None) -> None:
    if planner is not None:
        app[PLANNER] = planner


def _planner(request: web.Request) -> StaffingPlanner:
    planner = request.app.get(PLANNER)
    if planner is None:
        raise Unavailable("the staffing planner is not running on this server")
    return planner


def _day(value: object) -> date:
    if not isinstance(value, str):
        raise BadInput("date", "required (YYYY-MM-DD)", "input.required")
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise BadInput("date", f"not a date: {value!r}", "input.time") from None
    if not 1970 <= day.year < 2200:
        raise BadInput("date", "must be between 1970 and 2199", "input.out_of_range")
    return day


def _number(field: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadInput(field, "must be a number", "input.out_of_range")
    if not low <= value <= high:
        raise BadInput(field, f"must be from {low:g} to {high:g}", "input.out_of_range")
    return float(value)


def _typed(value: object) -> dict[int, float]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInput("calls", "an object: half-hour slot (0 … 47) → calls", "input.required")
    typed = {}
    for key, calls in value.items():
        if not (isinstance(key, str) and key.isascii() and key.isdigit()) or not (
            0 <= int(key) < SLOTS_PER_DAY
        ):
            raise BadInput("calls", f"slot {key!r}: 0 … {SLOTS_PER_DAY - 1}", "input.out_of_range")
        typed[int(key)] = _number(f"calls.{key}", calls, 0, MAX_CALLS)
    return typed


async def _answer(
    planner: StaffingPlanner,
    day: date,
    typed: dict[int, float],
    target: Target,
    aht_s: float | None,
) -> web.Response:
    try:
        plan = await planner.plan_day(day, typed=typed, target=target, aht_s=aht_s)
    except ValueError as error:  # more traffic than any plan can seat
        raise BadInput("calls", str(error), "input.out_of_range") from None
    body: dict[str, Any] = {
        **plan.to_json(),
        "weeks": planner.weeks,
        "formula": "agents: fewest N with 1 − C(N, A)·e^(−(N − A)·t ÷ AHT) ≥ target, "
        "A = calls × AHT ÷ 1800 s (Erlang C)",
    }
    return web.json_response(body, dumps=dumps)


@routes.get(
    "/api/staffing",
    FIGURES,
    summary="A day's Erlang C staffing plan per half hour, forecast from recent weeks",
    query={"date": _DATE},
    statuses=(200, 400, 503),
)
async def staffing_plan(request: web.Request) -> web.Response:
    planner = _planner(request)
    return await _answer(planner, _day(request.query.get("date")), {}, planner.target, None)


@routes.post(
    "/api/staffing/plan",
    FIGURES,
    summary="A day's staffing plan with typed calls per half hour, AHT or target",
    body=_PLAN_BODY,
    statuses=(200, 400, 503),
)
async def staffing_typed_plan(request: web.Request) -> web.Response:
    planner = _planner(request)
    body = await json_object(request)
    for key in body:
        if key not in _FIELDS:
            raise BadInput(key, "not a field of this route", "input.unknown_field")
    base = planner.target
    target = Target(
        _number("service_level", body.get("service_level", base.service_level), 0.01, 0.999),
        _number("answer_s", body.get("answer_s", base.answer_s), 0, 3600),
        _number("max_occupancy", body.get("max_occupancy", base.max_occupancy), 0.01, 1),
    )
    aht = body.get("aht_s")
    aht_s = None if aht is None else _number("aht_s", aht, 1, 3600)
    return await _answer(planner, _day(body.get("date")), _typed(body.get("calls")), target, aht_s)
