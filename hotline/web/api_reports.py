"""Reports leaders read (日报/周报/月度简报): the report of a period and filter as JSON (the
console's report pages draw it), as XLSX or PDF to download, and the calls or cases behind any
figure (drill-down), caller numbers as the role may see them (hotline/web/caller_mask.py).

Reports show figures, not recordings: the roles that read the KPIs (FIGURES) read them.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, Final

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.reports import periods
from hotline.reports.build import (
    CASE_FIGURES,
    PARTS,
    ReportPolicy,
    build_report,
    drill_calls,
    drill_cases,
)
from hotline.reports.files import report_files
from hotline.reports.pdf import FontMissing
from hotline.settings import Settings
from hotline.web.api_common import BadInput, dumps, instant, span, text
from hotline.web.api_kpi import KPI_PARAMS
from hotline.web.api_qa import QA_DESK
from hotline.web.auth import AUTH, principal
from hotline.web.auth_table import FIGURES
from hotline.web.caller_mask import caller_number_for
from hotline.web.errors import Unavailable
from hotline.web.routes import Param, RouteTable
from ticketing.reports import CALL_FIGURES, ReportFilter

REPORT_ENGINE = web.AppKey("report_engine", AsyncEngine)
REPORT_POLICY = web.AppKey("report_policy", ReportPolicy)
TIME = {"type": "string", "example": "2026-11-23"}
# A year and a day at most (a leap year's report with the day before): a report or drill-down
# of several years is a job for bench/ or the database, not a click.
MAX_DAYS: Final = 367
_TEXT = {"type": "string"}
FILTER: Final = {
    "queue": Param(_TEXT, "one queue's calls only"),
    "category": Param(_TEXT, "one case category (consultation, complaint…)"),
    "area": Param(_TEXT, "one area (the case's district)"),
    "unit": Param(_TEXT, "one handling unit (first dispatched to, or holding the case)"),
    "agent": Param(_TEXT, "calls: the legs one agent answered (user name or member name)"),
}
PERIOD: Final = {
    "kind": Param(
        {"type": "string", "enum": list(periods.KINDS)},
        "daily (日报), weekly (周报, Monday to Sunday), monthly (月度简报) or range",
        required=True,
    ),
    "date": Param(TIME, "daily, weekly: a day (YYYY-MM-DD) of the period"),
    "month": Param({"type": "string", "example": "2026-11"}, "monthly: YYYY-MM"),
    "from": Param(TIME, "range: first day or ISO time"),
    "to": Param(TIME, "range: last day (included) or ISO time"),
}
FORMATS: Final = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}

routes = RouteTable()


def install(app: web.Application, store: object, settings: Settings | None) -> None:
    app[REPORT_POLICY] = ReportPolicy.from_settings((settings or Settings()).reports)
    engine = getattr(store, "engine", None)
    if isinstance(engine, AsyncEngine):
        app[REPORT_ENGINE] = engine


def _engine(request: web.Request) -> AsyncEngine:
    engine = request.app.get(REPORT_ENGINE)
    if engine is None:
        raise Unavailable("no store on this server")
    return engine


def _filter(request: web.Request) -> ReportFilter:
    values = {
        name: text(name, request.query.get(name), max_length=128, required=False) for name in FILTER
    }
    return ReportFilter(**{k: (v or None) for k, v in values.items()})


def _period(request: web.Request) -> periods.Period:
    zone = request.app[KPI_PARAMS].zone()
    query = request.query
    kind = query.get("kind", "")
    if kind not in periods.KINDS:
        raise BadInput("kind", "daily, weekly, monthly or range", "input.choice")
    if kind == "range":
        start = instant("from", query.get("from"), zone)
        end = instant("to", query.get("to"), zone, end_of_day=True)
        if end <= start:
            raise BadInput("to", "must be after 'from'", "input.span")
        if end - start > timedelta(days=MAX_DAYS):
            raise BadInput("to", f"the span may be at most {MAX_DAYS} days", "input.span")
        return periods.span(start, end)
    day = None
    if query.get("date"):
        try:
            day = date.fromisoformat(query["date"])
        except ValueError:
            raise BadInput("date", "a day as YYYY-MM-DD", "input.time") from None
        if not 1970 <= day.year < 2200:
            raise BadInput("date", "a day between 1970 and 2199", "input.out_of_range")
    try:
        return periods.of(kind, zone, day, query.get("month") or None)
    except ValueError as error:
        field = "month" if kind == "monthly" else "date"
        raise BadInput(field, str(error), "input.time") from None


async def _report(request: web.Request) -> dict[str, Any]:
    return await build_report(
        _engine(request),
        _period(request),
        _filter(request),
        request.app[KPI_PARAMS],
        qa=request.app.get(QA_DESK),
        policy=request.app[REPORT_POLICY],
    )


@routes.get(
    "/api/reports",
    FIGURES,
    summary="A daily log, weekly report, monthly briefing or any range: call KPIs, case KPIs "
    "per unit, category and area, unit and agent scores, hot topics",
    query={**PERIOD, **FILTER},
    statuses=(200, 400, 503),
)
async def report(request: web.Request) -> web.Response:
    """``GET /api/reports?kind=monthly&month=2026-11&queue=&category=&area=&unit=``."""
    return web.json_response(await _report(request), dumps=dumps)


@routes.get(
    "/api/reports/export",
    FIGURES,
    summary="The report as a file: XLSX (one sheet per table, drill-down sheets) or PDF "
    "(Chinese font embedded, charts included)",
    query={**PERIOD, **FILTER, "format": Param({"type": "string", "enum": list(FORMATS)},
                                               "xlsx or pdf", required=True)},
    statuses=(200, 400, 503),
    page=True,  # a file, not JSON
)  # fmt: skip
async def export(request: web.Request) -> web.StreamResponse:
    kind = request.query.get("format", "")
    if kind not in FORMATS:
        raise BadInput("format", "xlsx or pdf", "input.choice")
    period, flt = _period(request), _filter(request)
    try:
        files = await report_files(
            _engine(request), period, flt, request.app[KPI_PARAMS], formats=(kind,),
            qa=request.app.get(QA_DESK), policy=request.app[REPORT_POLICY],
        )  # fmt: skip
    except FontMissing as error:
        raise Unavailable(str(error)) from None
    who = principal(request)
    name = re.sub(r"[^0-9A-Za-z_.-]", "_", f"report-{period.kind}-{period.label}")
    await request.app[AUTH].audit(
        request, who.username, who.role, "report.export", f"report:{period.kind}",
        {"label": period.label, "filter": flt.to_json(), "format": kind},
    )  # fmt: skip
    return web.Response(
        body=files[kind],
        headers={
            "Content-Type": FORMATS[kind],
            "Content-Disposition": f'attachment; filename="{name}.{kind}"',
            "Cache-Control": "no-store",
        },
    )


@routes.get(
    "/api/reports/drill",
    FIGURES,
    summary="The calls or cases behind a report figure (caller numbers masked by role)",
    query={
        **FILTER,
        "from": Param(TIME, "the period or bucket (≤ 367 days): first day or time", required=True),
        "to": Param(TIME, "last day (included) or ISO time", required=True),
        "figure": Param(_TEXT, "a call figure (answered, abandoned…) or a case figure "
                        "(on_time_rate, satisfaction…)", required=True),
        "part": Param({"type": "string", "enum": list(PARTS)},
                      "case rates: numerator (default), denominator or shortfall"),
        "holder": Param(_TEXT, "a unit: its own figure (by unit) rather than the total"),
    },
    statuses=(200, 400, 503),
)  # fmt: skip
async def drill(request: web.Request) -> web.Response:
    """``GET /api/reports/drill?figure=answered_within&from=&to=&queue=…``: ``{"calls": […]}``
    for a call figure, ``{"cases": […]}`` for a case figure."""
    zone = request.app[KPI_PARAMS].zone()
    start, end = span(request.query, zone, max_days=MAX_DAYS)
    figure = request.query.get("figure", "")
    flt = _filter(request)
    role = principal(request).role
    base = {"from": start.isoformat(), "to": end.isoformat(), "figure": figure,
            "filter": flt.to_json()}  # fmt: skip
    if figure in CALL_FIGURES:
        rows = await drill_calls(_engine(request), start, end, flt, figure, request.app[KPI_PARAMS])
        for row in rows:
            row["caller_num"] = caller_number_for(row["caller_num"], role)
        return web.json_response({**base, "calls": rows}, dumps=dumps)
    if figure not in CASE_FIGURES:
        raise BadInput("figure", "not a report figure", "input.choice")
    part = request.query.get("part", "numerator")
    if part not in PARTS:
        raise BadInput("part", "numerator, denominator or shortfall", "input.choice")
    holder = text("holder", request.query.get("holder"), max_length=128, required=False)
    cases = await drill_cases(_engine(request), start, end, flt, figure, part, holder or None)
    for case in cases:
        case["caller_num"] = caller_number_for(case["caller_num"], role)
    return web.json_response({**base, "part": part, "holder": holder, "cases": cases}, dumps=dumps)
