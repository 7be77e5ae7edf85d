"""A report's files end to end: the queries, the drill-down lists, the XLSX and the PDF — what
``hotline report`` writes and the console downloads, in one call (bench/reports.py times it
as "the monthly briefing end to end")."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.kpi import KpiParams
from hotline.reports.build import MonthlyQa, ReportPolicy, Step, build_report, report_drills
from hotline.reports.pdf import to_pdf
from hotline.reports.periods import Period
from hotline.reports.xlsx import to_xlsx
from ticketing.reports import ReportFilter

FORMATS: Final = ("xlsx", "pdf")


async def report_files(
    engine: AsyncEngine,
    period: Period,
    flt: ReportFilter,
    params: KpiParams,
    *,
    formats: Sequence[str] = FORMATS,
    qa: MonthlyQa | None = None,
    policy: ReportPolicy | None = None,
    step: Step | None = None,
) -> dict[str, bytes]:
    """``{"xlsx": …, "pdf": …}`` of a period and filter, callers' numbers masked (files travel
    further than screens). ``step`` hears each query, "drill-down" and each format as done;
    pdf.FontMissing when no CJK font is installed."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown format {unknown[0]!r}: xlsx or pdf")
    tick = step or (lambda _name: None)
    report = await build_report(engine, period, flt, params, qa=qa, policy=policy, step=tick)
    out: dict[str, bytes] = {}
    if "xlsx" in formats:
        drills = await report_drills(engine, period, flt, params, role="file")
        tick("drill-down")
        out["xlsx"] = await asyncio.to_thread(to_xlsx, report, drills)
        tick("xlsx")
    if "pdf" in formats:
        out["pdf"] = await asyncio.to_thread(to_pdf, report)
        tick("pdf")
    return out
