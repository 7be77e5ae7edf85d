"""A report (hotline/reports/build.py) as an XLSX workbook: one sheet per table, typed cells —
counts are integers, rates are numbers shown as percentages, seconds are numbers, hours and
days are Excel dates; a figure that cannot be computed (nothing to count) is an empty cell,
never 0. The drill-down sheets list the calls and cases behind the figures that need chasing
(abandoned, answered late, excluded, dissatisfied; overdue, extended, redone, returned), caller
numbers masked: a file travels further than a screen."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

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


def _put(sheet: Worksheet, row: int, column: int, value: Any, form: str | None = None) -> None:
    cell = sheet.cell(row=row, column=column, value=value)
    if form and value is not None:
        cell.number_format = form


def _header(sheet: Worksheet, titles: Sequence[str]) -> None:
    sheet.append(list(titles))
    for cell in sheet[sheet.max_row]:
        cell.font = BOLD
    # A coordinate, not sheet.cell(): that would create the next row's cell.
    sheet.freeze_panes = f"B{sheet.max_row + 1}"


def _figure_rows(sheet: Worksheet, figures: Mapping[str, Mapping[str, Any]]) -> None:
    for figure in figures.values():
        row = sheet.max_row + 1
        form = _format(figure.get("unit"))
        _put(sheet, row, 1, f"{figure.get('label_zh', '')} {figure.get('label_en', '')}".strip())
        _put(sheet, row, 2, figure.get("value"), form)
        _put(sheet, row, 3, figure.get("numerator"))
        _put(sheet, row, 4, figure.get("denominator"))
        _put(sheet, row, 5, figure.get("formula"))
        _put(sheet, row, 6, figure.get("target"), PERCENT)


def _summary(book: Workbook, report: Mapping[str, Any]) -> None:
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEETS["summary"]
    sheet.append([report["title"], report["label"]])
    sheet["A1"].font = Font(bold=True, size=14)
    zone = ZoneInfo(report["params"]["timezone"])
    for label, key in (("从 from", "from"), ("到 to (不含 excluded)", "to")):
        sheet.append([label])
        _put(sheet, sheet.max_row, 2, _local(report[key], zone), DATETIME)
    active = {k: v for k, v in report["filter"].items() if v is not None}
    sheet.append(["筛选 filter", ", ".join(f"{k}={v}" for k, v in active.items()) or "全部 all"])
    sheet.append([])
    sheet.append(["通话指标 call KPIs", "值 value", "分子 numerator", "分母 denominator",
                  "公式 formula", "目标 target"])  # fmt: skip
    for cell in sheet[sheet.max_row]:
        cell.font = BOLD
    _figure_rows(sheet, report["call_kpis"]["totals"])
    sheet.append([])
    sheet.append(["工单指标 case KPIs", "值 value", "分子 numerator", "分母 denominator",
                  "公式 formula"])  # fmt: skip
    for cell in sheet[sheet.max_row]:
        cell.font = BOLD
    totals = report["case_kpis"]["totals"]
    for name in ("cases", "dispatched"):
        sheet.append([CASE_LABELS[name], totals[name]])
    for name in (*UNIT_RATES, *HOTLINE_RATES):
        figure = totals[name]
        row = sheet.max_row + 1
        _put(sheet, row, 1, CASE_LABELS[name])
        _put(sheet, row, 2, figure["value"], PERCENT)
        _put(sheet, row, 3, figure["numerator"])
        _put(sheet, row, 4, figure["denominator"])
        _put(sheet, row, 5, figure["formula"])
    sheet.column_dimensions["A"].width = 34
    sheet.column_dimensions["E"].width = 60


def _local(value: str, zone: ZoneInfo) -> datetime:
    """An ISO time as a naive local datetime: Excel cells carry no time zone."""
    return datetime.fromisoformat(value).astimezone(zone).replace(tzinfo=None)


def _bucket_table(
    book: Workbook, name: str, key_title: str, rows: Mapping[str, Mapping[str, Any]],
    columns: Sequence[str], key_cell: Any,
) -> None:  # fmt: skip
    sheet = book.create_sheet(SHEETS[name])
    sample = next(iter(rows.values()), {})
    _header(sheet, [key_title, *(_title(sample.get(c), c) for c in columns)])
    # Rows counted here: openpyxl's max_row walks every cell, so asking it per row made a
    # month's sheets quadratic (a minute for the briefing's 5,000-row drill-downs).
    for row, (key, figures) in enumerate(rows.items(), start=sheet.max_row + 1):
        value, form = key_cell(key)
        _put(sheet, row, 1, value, form)
        for index, column in enumerate(columns, start=2):
            figure = figures.get(column) or {}
            _put(sheet, row, index, figure.get("value"), _format(figure.get("unit")))
    sheet.column_dimensions["A"].width = 20


def _title(figure: Mapping[str, Any] | None, name: str) -> str:
    if not figure:
        return name
    return f"{figure.get('label_zh', '')} {figure.get('label_en', name)}".strip()


def _case_table(book: Workbook, name: str, key_title: str, rows: Mapping[str, Any]) -> None:
    sheet = book.create_sheet(SHEETS[name])
    titles = [key_title, "派单 dispatched"]
    for rate in UNIT_RATES + (HOTLINE_RATES if name != "by_unit" else ()):
        titles += [CASE_LABELS[rate], "分子 num", "分母 den"]
    if name != "by_unit":
        titles.insert(1, "工单 cases")
    _header(sheet, titles)
    for row, (key, figures) in enumerate(rows.items(), start=sheet.max_row + 1):
        values: list[tuple[Any, str | None]] = [(key, None)]
        if name != "by_unit":
            values.append((figures["cases"], "0"))
        values.append((figures["dispatched"], "0"))
        for rate in UNIT_RATES + (HOTLINE_RATES if name != "by_unit" else ()):
            figure = figures[rate]
            values += [(figure["value"], PERCENT), (figure["numerator"], "0"),
                       (figure["denominator"], "0")]  # fmt: skip
        for column, (value, form) in enumerate(values, start=1):
            _put(sheet, row, column, value, form)
    sheet.column_dimensions["A"].width = 20


def _records(
    book: Workbook, name: str, columns: Sequence[tuple[str, str, str | None]],
    rows: Sequence[Mapping[str, Any]],
) -> None:  # fmt: skip
    """A plain table: (title, key, number format) per column."""
    sheet = book.create_sheet(SHEETS[name])
    _header(sheet, [title for title, _, _ in columns])
    for row, item in enumerate(rows, start=sheet.max_row + 1):
        for column, (_, key, form) in enumerate(columns, start=1):
            _put(sheet, row, column, item.get(key), form)
    sheet.column_dimensions["A"].width = 20


def to_xlsx(report: Mapping[str, Any], drills: Mapping[str, Any] | None = None) -> bytes:
    """The workbook's bytes; ``drills`` (build.report_drills) fills the drill-down sheets."""
    zone = ZoneInfo(report["params"]["timezone"])
    book = Workbook()
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
    call_rows = [
        {**row, "figure": figure, "at": _local(row["at"], zone)}
        for figure, rows in drills["calls"].items()
        for row in rows
    ]
    _records(book, "drill_calls", [
        ("指标 figure", "figure", None), ("时间 at", "at", DATETIME),
        ("来电 caller", "caller_num", None),
        ("队列 queue", "queue", None), ("结果 outcome", "outcome", None),
        ("等待秒 wait s", "wait_s", "0"), ("评价 survey", "survey", None),
        ("交换机 pbx", "pbx", None), ("uniqueid", "uniqueid", None), ("linkedid", "linkedid", None),
    ], call_rows)  # fmt: skip
    case_rows = [
        {**row, "figure": figure, "created_at": _local(row["created_at"], zone)}
        for figure, rows in drills["cases"].items()
        for row in rows
    ]
    _records(book, "drill_cases", [
        ("指标 figure", "figure", None), ("工单号 number", "number", None),
        ("类别 category", "category", None), ("区域 area", "area", None),
        ("单位 unit", "unit", None), ("状态 status", "status", None),
        ("受理 opened", "created_at", DATETIME), ("来电 caller", "caller_num", None),
    ], case_rows)  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
