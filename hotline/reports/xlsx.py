"""A report (hotline/reports/build.py) as an XLSX workbook: one sheet per table, typed cells —
counts are integers, rates are numbers shown as percentages, seconds are numbers, hours and
days are Excel dates; a figure that cannot be computed (nothing to count) is an empty cell,
never 0. The drill-down sheets list the calls and cases behind the figures that need chasing
(abandoned, answered late, excluded, dissatisfied; overdue, extended, redone, returned), caller
numbers masked: a file travels further than a screen.

Written in openpyxl's write-only mode: each row streams to the sheet's XML as it is appended
(a month's drill-downs are 45,000 rows), so a sheet's widths and frozen header are set before
its first row, and a cell with a number format or font is a WriteOnlyCell."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from hotline.reports.build import CASE_LABELS, HOTLINE_RATES, UNIT_RATES

PERCENT: Final = "0.0%"
SECONDS: Final = "0.0"
DATETIME: Final = "yyyy-mm-dd hh:mm"
DAY: Final = "yyyy-mm-dd"
BOLD: Final = Font(bold=True)
# The call figures of the hour, day, queue and agent tables, in this order.
CALL_COLUMNS: Final = (
    "offered", "answered", "answered_within", "answer_timeliness", "connect_rate",
    "abandoned", "abandon_rate", "asa", "aht", "longest_wait", "satisfaction",
)  # fmt: skip
AGENT_COLUMNS: Final = ("answered", "answered_within", "answer_timeliness", "asa", "aht",
                        "satisfaction")  # fmt: skip
# Sheet titles (Excel allows 31 characters).
SHEETS: Final = {
    "summary": "概要 summary",
    "by_hour": "按小时 by hour",
    "by_day": "按日 by day",
    "by_queue": "按队列 by queue",
    "by_agent": "按座席 by agent",
    "calls_by_category": "通话按类别 calls by category",
    "calls_by_area": "通话按区域 calls by area",
    "calls_by_unit": "通话按单位 calls by unit",
    "by_unit": "单位考核 by unit",
    "by_category": "按类别 by category",
    "by_area": "按区域 by area",
    "unit_scores": "单位得分 unit scores",
    "agent_scores": "座席得分 agent scores",
    "hot_topics": "热点 hot topics",
    "excluded": "剔除 excluded",
    "drill_calls": "明细-通话 calls",
    "drill_cases": "明细-工单 cases",
}


def _format(unit: str | None) -> str | None:
    return {"ratio": PERCENT, "s": SECONDS, "count": "0"}.get(unit or "")


def _typed(sheet: WriteOnlyWorksheet, value: Any, form: str | None = None) -> Any:
    """A row item: the plain value, or a cell carrying its number format (a figure that
    cannot be computed stays None: an empty cell, never a formatted 0)."""
    if form is None or value is None:
        return value
    cell = WriteOnlyCell(sheet, value)
    cell.number_format = form
    return cell


def _bold(sheet: WriteOnlyWorksheet, titles: Sequence[Any], font: Font = BOLD) -> list[Any]:
    cells = []
    for title in titles:
        cell = WriteOnlyCell(sheet, title)
        cell.font = font
        cells.append(cell)
    return cells


def _sheet(
    book: Workbook, name: str, widths: Mapping[str, float], titles: Sequence[str] | None = None
) -> WriteOnlyWorksheet:
    """A new sheet, its column widths and (with ``titles``) its bold header row frozen: in
    write-only mode both go into the sheet's XML head, so before the first row."""
    sheet = book.create_sheet(SHEETS[name])
    assert isinstance(sheet, WriteOnlyWorksheet)
    for column, width in widths.items():
        sheet.column_dimensions[column].width = width
    if titles is not None:
        sheet.freeze_panes = "B2"
        sheet.append(_bold(sheet, titles))
    return sheet


def _figure_row(sheet: WriteOnlyWorksheet, figure: Mapping[str, Any]) -> list[Any]:
    return [
        f"{figure.get('label_zh', '')} {figure.get('label_en', '')}".strip(),
        _typed(sheet, figure.get("value"), _format(figure.get("unit"))),
        figure.get("numerator"),
        figure.get("denominator"),
        figure.get("formula"),
        _typed(sheet, figure.get("target"), PERCENT),
    ]


def _summary(book: Workbook, report: Mapping[str, Any]) -> None:
    sheet = _sheet(book, "summary", {"A": 34, "E": 60})
    sheet.append([*_bold(sheet, [report["title"]], Font(bold=True, size=14)), report["label"]])
    zone = ZoneInfo(report["params"]["timezone"])
    for label, key in (("从 from", "from"), ("到 to (不含 excluded)", "to")):
        sheet.append([label, _typed(sheet, _local(report[key], zone), DATETIME)])
    active = {k: v for k, v in report["filter"].items() if v is not None}
    sheet.append(["筛选 filter", ", ".join(f"{k}={v}" for k, v in active.items()) or "全部 all"])
    sheet.append([])
    sheet.append(_bold(sheet, ["通话指标 call KPIs", "值 value", "分子 numerator",
                               "分母 denominator", "公式 formula", "目标 target"]))  # fmt: skip
    for figure in report["call_kpis"]["totals"].values():
        sheet.append(_figure_row(sheet, figure))
    sheet.append([])
    sheet.append(_bold(sheet, ["工单指标 case KPIs", "值 value", "分子 numerator",
                               "分母 denominator", "公式 formula"]))  # fmt: skip
    totals = report["case_kpis"]["totals"]
    for name in ("cases", "dispatched"):
        sheet.append([CASE_LABELS[name], totals[name]])
    for name in (*UNIT_RATES, *HOTLINE_RATES):
        figure = totals[name]
        sheet.append([CASE_LABELS[name], _typed(sheet, figure["value"], PERCENT),
                      figure["numerator"], figure["denominator"], figure["formula"]])  # fmt: skip


def _local(value: str, zone: ZoneInfo) -> datetime:
    """An ISO time as a naive local datetime: Excel cells carry no time zone."""
    return datetime.fromisoformat(value).astimezone(zone).replace(tzinfo=None)


def _bucket_table(
    book: Workbook, name: str, key_title: str, rows: Mapping[str, Mapping[str, Any]],
    columns: Sequence[str], key_cell: Any,
) -> None:  # fmt: skip
    sample = next(iter(rows.values()), {})
    titles = [key_title, *(_title(sample.get(c), c) for c in columns)]
    sheet = _sheet(book, name, {"A": 20}, titles)
    for key, figures in rows.items():
        row = [_typed(sheet, *key_cell(key))]
        for column in columns:
            figure = figures.get(column) or {}
            row.append(_typed(sheet, figure.get("value"), _format(figure.get("unit"))))
        sheet.append(row)


def _title(figure: Mapping[str, Any] | None, name: str) -> str:
    if not figure:
        return name
    return f"{figure.get('label_zh', '')} {figure.get('label_en', name)}".strip()


def _case_table(book: Workbook, name: str, key_title: str, rows: Mapping[str, Any]) -> None:
    rates = UNIT_RATES + (HOTLINE_RATES if name != "by_unit" else ())
    titles = [key_title, "派单 dispatched"]
    for rate in rates:
        titles += [CASE_LABELS[rate], "分子 num", "分母 den"]
    if name != "by_unit":
        titles.insert(1, "工单 cases")
    sheet = _sheet(book, name, {"A": 20}, titles)
    for key, figures in rows.items():
        row = [key]
        if name != "by_unit":
            row.append(_typed(sheet, figures["cases"], "0"))
        row.append(_typed(sheet, figures["dispatched"], "0"))
        for rate in rates:
            figure = figures[rate]
            row += [_typed(sheet, figure["value"], PERCENT),
                    _typed(sheet, figure["numerator"], "0"),
                    _typed(sheet, figure["denominator"], "0")]  # fmt: skip
        sheet.append(row)


def _records(
    book: Workbook, name: str, columns: Sequence[tuple[str, str, str | None]],
    rows: Iterable[Mapping[str, Any]],
) -> None:  # fmt: skip
    """A plain table: (title, key, number format) per column."""
    sheet = _sheet(book, name, {"A": 20}, [title for title, _, _ in columns])
    for item in rows:
        sheet.append([_typed(sheet, item.get(key), form) for _, key, form in columns])


def to_xlsx(report: Mapping[str, Any], drills: Mapping[str, Any] | None = None) -> bytes:
    """The workbook's bytes; ``drills`` (build.report_drills) fills the drill-down sheets."""
    zone = ZoneInfo(report["params"]["timezone"])
    # Write-only: rows stream to the file as they are appended, with no cell model kept per
    # cell (normal mode built ~400,000 Cell objects for a month's drill-downs and hour tables,
    # then walked them again to save: most of the briefing's XLSX time).
    book = Workbook(write_only=True)
    _summary(book, report)
    calls = report["call_kpis"]
    _bucket_table(
        book,
        "by_hour",
        "小时 hour",
        calls["by_hour"],
        CALL_COLUMNS,
        lambda k: (datetime.fromisoformat(k).replace(tzinfo=None), DATETIME),
    )
    _bucket_table(
        book,
        "by_day",
        "日期 day",
        calls["by_day"],
        CALL_COLUMNS,
        lambda k: (date.fromisoformat(k), DAY),
    )
    _bucket_table(
        book, "by_queue", "队列 queue", calls["by_queue"], CALL_COLUMNS, lambda k: (k, None)
    )
    _bucket_table(book, "by_agent", "座席 agent", calls["by_agent"], AGENT_COLUMNS,
                  lambda k: (k, None))  # fmt: skip
    for by, title in (("category", "类别 category"), ("area", "区域 area"), ("unit", "单位 unit")):
        _bucket_table(book, f"calls_by_{by}", title, calls.get(f"by_{by}", {}), CALL_COLUMNS,
                      lambda k: (k, None))  # fmt: skip
    cases = report["case_kpis"]
    _case_table(book, "by_unit", "单位 unit", cases["by_unit"])
    _case_table(book, "by_category", "类别 category", cases["by_category"])
    _case_table(book, "by_area", "区域 area", cases["by_area"])
    _records(book, "unit_scores", [
        ("单位 unit", "unit", None), ("得分 score", "score", "0.0"),
        ("满意基数 base", "base", "0.0"),
        ("参评 rated", "rated", "0"), ("满意 satisfied", "satisfied", "0"),
        ("很满意 top ratings", "top_ratings", "0"), ("超期 overdue", "overdue", "0"),
        ("重办 redos", "redos", "0"), ("逾期退件 late returns", "late_returns", "0"),
        ("扣分 deductions", "deductions", "0.0"), ("加分 bonus", "bonus", "0.0"),
        ("公式 formula", "formula", None),
    ], report["unit_scores"])  # fmt: skip
    _records(book, "agent_scores", [
        ("座席 agent", "agent", None), ("质检得分 QA score", "qa_score", "0.0"),
        ("质检通话 QA calls", "qa_calls", "0"), ("接听 answered", "answered", "0"),
        ("15秒接通率 timeliness", "answer_timeliness", PERCENT),
        ("满意率 satisfaction", "satisfaction", PERCENT),
    ], report["agent_scores"])  # fmt: skip
    hot = [{"dimension": "类别 category", **t} for t in report["hot_topics"]["categories"]]
    hot += [{"dimension": "区域 area", **t} for t in report["hot_topics"]["areas"]]
    _records(book, "hot_topics", [
        ("维度 dimension", "dimension", None), ("名称 key", "key", None),
        ("本期 cases", "cases", "0"), ("上期 previous", "previous", "0"),
        ("变化 change", "change", "0"), ("变化率 change rate", "change_rate", PERCENT),
    ], hot)  # fmt: skip
    excluded = [{"reason": r, "calls": n} for r, n in calls["excluded"]["by_reason"].items()]
    _records(book, "excluded", [("原因 reason", "reason", None), ("通话 calls", "calls", "0")],
             excluded)  # fmt: skip
    drills = drills or {"calls": {}, "cases": {}}
    call_rows = (
        {**row, "figure": figure, "at": _local(row["at"], zone)}
        for figure, rows in drills["calls"].items()
        for row in rows
    )
    _records(book, "drill_calls", [
        ("指标 figure", "figure", None), ("时间 at", "at", DATETIME),
        ("来电 caller", "caller_num", None),
        ("队列 queue", "queue", None), ("结果 outcome", "outcome", None),
        ("等待秒 wait s", "wait_s", "0"), ("评价 survey", "survey", None),
        ("交换机 pbx", "pbx", None), ("uniqueid", "uniqueid", None), ("linkedid", "linkedid", None),
    ], call_rows)  # fmt: skip
    case_rows = (
        {**row, "figure": figure, "created_at": _local(row["created_at"], zone)}
        for figure, rows in drills["cases"].items()
        for row in rows
    )
    _records(book, "drill_cases", [
        ("指标 figure", "figure", None), ("工单号 number", "number", None),
        ("类别 category", "category", None), ("区域 area", "area", None),
        ("单位 unit", "unit", None), ("状态 status", "status", None),
        ("受理 opened", "created_at", DATETIME), ("来电 caller", "caller_num", None),
    ], case_rows)  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
