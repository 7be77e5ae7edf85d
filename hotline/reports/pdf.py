"""A report (hotline/reports/build.py) as a PDF for leaders: the headline figures, the charts
(volume per hour and per day, the 15 s rate trend, the category mix, the units' on-time
rates, the satisfaction trend) and the score tables, in Chinese.

reportlab draws the pages and the charts (reportlab.graphics: no browser, no second plotting
stack) and embeds a subset of a CJK TrueType font: Debian's ``fonts-wqy-microhei`` (or
``fonts-noto-cjk``), or any TTF/TTC named by ``HOTLINE_REPORT_FONT``. Without one the PDF
cannot show Chinese: ``FontMissing`` says which package to install.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from hotline.reports.build import CASE_LABELS, HOTLINE_RATES, UNIT_RATES

FONT_NAME: Final = "HotlineCJK"
FONT_CANDIDATES: Final = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
FONT_PACKAGE: Final = "fonts-wqy-microhei"
# Section headings (the tests look for them in the PDF's text).
HEADINGS: Final = (
    "一、话务概况 Calls",
    "二、工单办理 Cases",
    "三、单位考核 Unit scores",
    "四、座席得分 Agent scores",
    "五、热点诉求 Hot topics",
)
CHART_WIDTH: Final = 170 * mm
CHART_HEIGHT: Final = 60 * mm
BLUE: Final = colors.HexColor("#1f6feb")
GREEN: Final = colors.HexColor("#2da44e")
ORANGE: Final = colors.HexColor("#d4a72c")


class FontMissing(RuntimeError):
    """No CJK font to embed: the PDF would show boxes instead of Chinese."""


def font_path() -> Path:
    named = os.environ.get("HOTLINE_REPORT_FONT")
    for candidate in ([named] if named else []) + list(FONT_CANDIDATES):
        if Path(candidate).is_file():
            return Path(candidate)
    raise FontMissing(
        f"no CJK font for the PDF: install the Debian package {FONT_PACKAGE} "
        "(or set HOTLINE_REPORT_FONT to a TrueType font with Chinese glyphs)"
    )


def register_font() -> str:
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        path = font_path()
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))
    return FONT_NAME


def _styles(font: str) -> dict[str, ParagraphStyle]:
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=18, leading=24, spaceAfter=6),
        "h2": ParagraphStyle(
            "h2", fontName=font, fontSize=13, leading=18, spaceBefore=10, spaceAfter=4
        ),
        "body": ParagraphStyle("body", fontName=font, fontSize=9, leading=13),
        "small": ParagraphStyle(
            "small", fontName=font, fontSize=7.5, leading=10, textColor=colors.grey
        ),
    }


def _percent(value: Any) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _number(value: Any, unit: str | None = None) -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return _percent(value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}"
    return f"{int(value)}"


def _table(
    rows: Sequence[Sequence[Any]], font: str, widths: Sequence[float] | None = None
) -> Table:
    cells = [[c if isinstance(c, Flowable) else str(c) for c in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7")),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#c0c8d2")),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))  # fmt: skip
    return table


def _chart_frame(title: str, font: str) -> Drawing:
    drawing = Drawing(CHART_WIDTH, CHART_HEIGHT)
    drawing.add(String(0, CHART_HEIGHT - 10, title, fontName=font, fontSize=9))
    return drawing


def _thin(labels: Sequence[str], most: int = 16) -> list[str]:
    """Axis labels, every n-th kept so they do not overlap."""
    step = max(1, (len(labels) + most - 1) // most)
    return [label if i % step == 0 else "" for i, label in enumerate(labels)]


def bar_chart(
    title: str, labels: Sequence[str], values: Sequence[float], font: str,
    percent: bool = False, color: Any = BLUE,
) -> Drawing:  # fmt: skip
    drawing = _chart_frame(title, font)
    chart = VerticalBarChart()
    chart.x, chart.y = 30, 25
    chart.width, chart.height = CHART_WIDTH - 40, CHART_HEIGHT - 45
    chart.data = [list(values) or [0]]
    chart.categoryAxis.categoryNames = _thin(list(labels) or [""])
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.labels.angle = 30 if len(labels) > 12 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(labels) > 12 else "n"
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.valueMin = 0
    if percent:
        chart.valueAxis.valueMax = 100
    else:  # counts: whole-number steps, never 0.5 of a call
        chart.valueAxis.valueStep = max(1, math.ceil(max([*values, 1]) / 5))
    chart.bars[0].fillColor = color
    drawing.add(chart)
    return drawing


def line_chart(
    title: str, labels: Sequence[str], values: Sequence[float | None], font: str,
    color: Any = GREEN,
) -> Drawing:  # fmt: skip
    drawing = _chart_frame(title, font)
    chart = HorizontalLineChart()
    chart.x, chart.y = 30, 25
    chart.width, chart.height = CHART_WIDTH - 40, CHART_HEIGHT - 45
    # A period with nothing to rate has no point (None), not a drop to 0 %.
    chart.data = [[None if v is None else v for v in values] or [0]]
    chart.categoryAxis.categoryNames = _thin(list(labels) or [""])
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 6
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = 100
    chart.lines[0].strokeColor = color
    chart.lines[0].strokeWidth = 1.5
    # A marker on every point: a period with one rated day still shows its point.
    chart.lines[0].symbol = makeMarker("Circle", size=3, fillColor=color, strokeColor=color)
    drawing.add(chart)
    return drawing


def _series(rows: Mapping[str, Mapping[str, Any]], figure: str) -> list[float | None]:
    out: list[float | None] = []
    for figures in rows.values():
        value = (figures.get(figure) or {}).get("value")
        out.append(None if value is None else round(value * 100, 1))
    return out


def charts(report: Mapping[str, Any], font: str) -> list[Drawing]:
    """The report's six charts, as the console page draws them."""
    calls = report["call_kpis"]
    daily = report["kind"] == "daily"
    trend = calls["by_hour"] if daily else calls["by_day"]
    trend_labels = [k[11:16] if daily else k[5:] for k in trend]
    hours = calls["by_hour"] if daily else None
    hour_labels = [k[11:13] for k in hours] if hours else list(calls["hour_of_day"])
    hour_values = (
        [(f.get("offered") or {}).get("value") or 0 for f in hours.values()]
        if hours else list(calls["hour_of_day"].values())
    )  # fmt: skip
    days = calls["by_day"]
    categories = report["case_kpis"]["by_category"]
    units = report["case_kpis"]["by_unit"]
    return [
        bar_chart("每小时来电量 calls per hour", hour_labels, hour_values, font),
        bar_chart("每日来电量 calls per day", [k[5:] for k in days],
                  [_calls_of(f) for f in days.values()], font),
        line_chart("15秒接通率趋势 15 s rate trend (%)", trend_labels,
                   _series(trend, "answer_timeliness"), font, BLUE),
        bar_chart("诉求类别 category mix (cases)", list(categories),
                  [c["cases"] for c in categories.values()], font, color=ORANGE),
        bar_chart("单位按时办结率 units' on-time rate (%)", list(units),
                  [round((u["on_time_rate"]["value"] or 0) * 100, 1) for u in units.values()],
                  font, percent=True, color=GREEN),
        line_chart("满意率趋势 satisfaction trend (%)", trend_labels,
                   _series(trend, "satisfaction"), font),
    ]  # fmt: skip


def _calls_of(figures: Mapping[str, Any]) -> float:
    """Calls of a bucket: offered to agents plus those that ended in the menu."""
    return float(
        ((figures.get("offered") or {}).get("value") or 0)
        + ((figures.get("ivr_hangups") or {}).get("value") or 0)
    )


def to_pdf(report: Mapping[str, Any]) -> bytes:
    font = register_font()
    style = _styles(font)
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
        bottomMargin=16 * mm, title=f"{report['title']} {report['label']}",
        author="hotline 12345",
    )  # fmt: skip
    story: list[Any] = [
        Paragraph(f"12345热线 {report['title']} {report['label']}", style["title"]),
        Paragraph(
            f"统计时段 period: {report['from'][:16]} — {report['to'][:16]}"
            f" (不含结束 end excluded); 生成 generated {report['generated_at'][:16]}",
            style["small"],
        ),
    ]
    active = {k: v for k, v in report["filter"].items() if v is not None}
    if active:
        shown = ", ".join(f"{k}={v}" for k, v in active.items())
        story.append(Paragraph(f"筛选 filter: {shown}", style["small"]))
    calls = report["call_kpis"]
    story += [Paragraph(HEADINGS[0], style["h2"])]
    rows: list[list[Any]] = [["指标 figure", "值 value", "分子 num", "分母 den", "公式 formula"]]
    for figure in calls["totals"].values():
        rows.append([figure["label_zh"], _number(figure["value"], figure["unit"]),
                     _number(figure["numerator"]), _number(figure["denominator"]),
                     Paragraph(figure["formula"], style["small"])])  # fmt: skip
    story.append(_table(rows, font, [38 * mm, 20 * mm, 18 * mm, 18 * mm, 80 * mm]))
    excluded = calls["excluded"]
    if excluded["calls"]:
        reasons = "; ".join(f"{r}: {n}" for r, n in excluded["by_reason"].items())
        story.append(Paragraph(f"剔除时段内来电 excluded calls: {excluded['calls']} ({reasons})",
                               style["small"]))  # fmt: skip
    drawings = charts(report, font)
    story += [Spacer(1, 4 * mm), drawings[0], drawings[1], drawings[2]]
    story.append(Paragraph(HEADINGS[1], style["h2"]))
    totals = report["case_kpis"]["totals"]
    rows = [["指标 figure", "值 value", "分子 num", "分母 den"],
            [CASE_LABELS["cases"], totals["cases"], "", ""],
            [CASE_LABELS["dispatched"], totals["dispatched"], "", ""]]  # fmt: skip
    for name in (*UNIT_RATES, *HOTLINE_RATES):
        figure = totals[name]
        rows.append([CASE_LABELS[name], _percent(figure["value"]), figure["numerator"],
                     figure["denominator"]])  # fmt: skip
    story.append(_table(rows, font, [60 * mm, 25 * mm, 25 * mm, 25 * mm]))
    story += [Spacer(1, 4 * mm), drawings[3], drawings[4], drawings[5]]
    story.append(Paragraph(HEADINGS[2], style["h2"]))
    rows = [["单位 unit", "得分 score", "满意基数 base", "超期 overdue", "重办 redos",
             "逾期退件 late returns", "加分 bonus"]]  # fmt: skip
    for unit in report["unit_scores"]:
        rows.append([unit["unit"], f"{unit['score']:.1f}", f"{unit['base']:.1f}", unit["overdue"],
                     unit["redos"], unit["late_returns"], f"{unit['bonus']:g}"])  # fmt: skip
    story.append(_table(rows, font))
    if report["unit_scores"]:
        story.append(Paragraph(report["unit_scores"][0]["formula"], style["small"]))
    story.append(Paragraph(HEADINGS[3], style["h2"]))
    rows = [["座席 agent", "质检得分 QA score", "质检通话 QA calls", "接听 answered",
             "15秒接通率 timeliness", "满意率 satisfaction"]]  # fmt: skip
    for agent in report["agent_scores"]:
        qa = agent["qa_score"]
        rows.append([agent["agent"], "—" if qa is None else f"{qa:.1f}", agent["qa_calls"],
                     _number(agent["answered"]), _percent(agent["answer_timeliness"]),
                     _percent(agent["satisfaction"])])  # fmt: skip
    story.append(_table(rows, font))
    story.append(Paragraph(HEADINGS[4], style["h2"]))
    for title, key in (("类别 category", "categories"), ("区域 area", "areas")):
        rows = [[title, "本期 cases", "上期 previous", "变化 change", "变化率 rate"]]
        for topic in report["hot_topics"][key]:
            rows.append([topic["key"], topic["cases"], topic["previous"],
                         f"{topic['change']:+d}", _percent(topic["change_rate"])])  # fmt: skip
        story += [_table(rows, font, [50 * mm, 25 * mm, 25 * mm, 25 * mm, 25 * mm]),
                  Spacer(1, 3 * mm)]  # fmt: skip
    document.build(story)
    return out.getvalue()
