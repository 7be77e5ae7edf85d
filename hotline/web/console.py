"""The supervisor console's pages (班长控制台): major-fault announcements with early-warning
suggestions, KPI exclusion windows, historical KPIs with downloads, the daily log, weekly
report and monthly briefing (日报/周报/月度简报), the staffing plan, user administration and
the access log.

Each page is static HTML + JS (hotline/web/static/console_*) over the JSON API; a page is
declared with the same roles as the API it drives, so nobody is shown a page whose data
they would be refused.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from hotline.web.auth_table import ADMINISTRATION, AUDIT, CONSOLE, FIGURES, SUPERVISION
from hotline.web.routes import RouteTable

STATIC = Path(__file__).parent / "static"

# Pages hold no data: the JSON routes do. Framing is refused and only our own scripts run.
_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
}

routes = RouteTable()


def _page(name: str) -> web.FileResponse:
    return web.FileResponse(STATIC / name, headers=_HEADERS)


@routes.get("/console", CONSOLE, summary="The supervisor console's start page", page=True)
async def console_index(request: web.Request) -> web.FileResponse:
    return _page("console.html")


@routes.get(
    "/console/incidents",
    SUPERVISION,
    summary="Major-fault announcements (重大故障): publish, merged callers, end",
    page=True,
)
async def console_incidents(request: web.Request) -> web.FileResponse:
    return _page("console_incidents.html")


@routes.get(
    "/console/exclusions", SUPERVISION, summary="KPI exclusion windows (剔除时段)", page=True
)
async def console_exclusions(request: web.Request) -> web.FileResponse:
    return _page("console_exclusions.html")


@routes.get(
    "/console/kpi", FIGURES, summary="Historical KPIs for a range, CSV/XLSX download", page=True
)
async def console_kpi(request: web.Request) -> web.FileResponse:
    return _page("console_kpi.html")


@routes.get(
    "/console/reports/daily", FIGURES, summary="Daily log (日报) with charts, XLSX/PDF", page=True
)
async def console_report_daily(request: web.Request) -> web.FileResponse:
    return _page("console_report.html")


@routes.get(
    "/console/reports/weekly",
    FIGURES,
    summary="Weekly report (周报) with charts, XLSX/PDF",
    page=True,
)
async def console_report_weekly(request: web.Request) -> web.FileResponse:
    return _page("console_report.html")


@routes.get(
    "/console/reports/monthly",
    FIGURES,
    summary="Monthly briefing (月度简报) with charts, scores, hot topics, XLSX/PDF",
    page=True,
)
async def console_report_monthly(request: web.Request) -> web.FileResponse:
    return _page("console_report.html")


@routes.get(
    "/console/staffing",
    FIGURES,
    summary="Staffing (排班): the Erlang C plan per half hour, calls editable",
    page=True,
)
async def console_staffing(request: web.Request) -> web.FileResponse:
    return _page("console_staffing.html")


@routes.get("/console/users", ADMINISTRATION, summary="User administration", page=True)
async def console_users(request: web.Request) -> web.FileResponse:
    return _page("console_users.html")


@routes.get("/console/access-log", AUDIT, summary="The access log, for auditors", page=True)
async def console_access_log(request: web.Request) -> web.FileResponse:
    return _page("console_access_log.html")
