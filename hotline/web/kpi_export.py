"""A KPI report (``acd.kpi`` ``KpiReport.to_json()``) as files to download: CSV and XLSX.

The report has one table per breakdown (totals, by day, by hour, by queue, by agent, by PBX);
each row is a bucket (a day, a queue…) and each column a figure. The XLSX has one sheet per
table with typed cells: counts are integers, ratios are numbers shown as percentages, seconds
are numbers, a figure that cannot be computed (no calls) is an empty cell, never a 0. The CSV
is one file in long form (table, bucket, figure, value, numerator, denominator…), which a
spreadsheet or a script can pivot back, with a UTF-8 BOM so that Excel reads the Chinese.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.styles import Font

# (report key, sheet title): the order of the sheets.
TABLES: Final = (
    ("totals", "合计 totals"),
    ("by_day", "按日 by day"),
    ("by_hour", "按小时 by hour"),
    ("by_queue", "按队列 by queue"),
    ("by_agent", "按座席 by agent"),
    ("by_pbx", "按交换机 by PBX"),
)
_KEY_HEADER: Final = {
    "totals": "范围 scope",
    "by_day": "日期 day",
    "by_hour": "小时 hour",
    "by_queue": "队列 queue",
    "by_agent": "座席 agent",
    "by_pbx": "交换机 PBX",
}
CSV_COLUMNS: Final = (
    "table", "key", "figure", "label_zh", "label_en", "unit", "value", "numerator",
    "denominator", "target", "meets_target",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    title: str
    # The buckets in report order; each maps a figure name to its JSON form.
    rows: list[tuple[str, Mapping[str, Mapping[str, Any]]]]

    def figures(self) -> list[Mapping[str, Any]]:
        """One JSON figure per column, in the report's order (the union over the rows)."""
        seen: dict[str, Mapping[str, Any]] = {}
        for _, figures in self.rows:
            for name, figure in figures.items():
                seen.setdefault(name, figure)
        return list(seen.values())


def tables(report: Mapping[str, Any], scope: str = "全部 all") -> list[Table]:
    """The report's tables; ``scope`` names the totals' one row (the span, the queue…)."""
    found = []
    for name, title in TABLES:
        if name == "totals":
            rows = [(scope, report["totals"])]
        else:
            rows = list(report.get(name, {}).items())
        found.append(Table(name, title, rows))
    return found


def _number(value: Any, unit: str) -> int | float | None:
    if value is None:
        return None
    if unit == "count" and float(value).is_integer():
        return int(value)
    return float(value)


def to_csv(report: Mapping[str, Any], scope: str = "全部 all") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in _long_rows(report, scope):
        writer.writerow(["" if cell is None else cell for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _long_rows(report: Mapping[str, Any], scope: str) -> Iterator[list[Any]]:
    for table in tables(report, scope):
        for key, figures in table.rows:
            for name, f in figures.items():
                unit = str(f.get("unit", ""))
                yield [
                    table.name,
                    key,
                    name,
                    f.get("label_zh"),
                    f.get("label_en"),
                    unit,
                    _number(f.get("value"), unit),
                    _number(f.get("numerator"), "count"),
                    _number(f.get("denominator"), "count"),
                    _number(f.get("target"), unit),
                    None if f.get("meets_target") is None else bool(f["meets_target"]),
                ]


_FORMATS: Final = {"ratio": "0.0%", "s": "0.0", "count": "0"}


def to_xlsx(report: Mapping[str, Any], scope: str = "全部 all") -> bytes:
    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for table in tables(report, scope):
        sheet = book.create_sheet(table.title[:31])  # Excel's limit on sheet names
        figures = table.figures()
        sheet.append(
            [_KEY_HEADER[table.name]]
            + [f"{f.get('label_zh', '')} {f.get('label_en', '')}".strip() for f in figures]
        )
        for cell in sheet[1]:
            cell.font = bold
        for key, row in table.rows:
            values: list[Any] = [key]
            for f in figures:
                got = row.get(str(f["name"]))
                unit = str(f.get("unit", ""))
                values.append(None if got is None else _number(got.get("value"), unit))
            sheet.append(values)
            for f, cell in zip(figures, sheet[sheet.max_row][1:], strict=True):
                cell.number_format = _FORMATS.get(str(f.get("unit")), "General")
        sheet.freeze_panes = "B2"
        sheet.column_dimensions["A"].width = 24
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
