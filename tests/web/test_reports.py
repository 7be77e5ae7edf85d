"""Reports (日报/周报/月度简报) on a hand-counted set of calls and cases
(tests/web/report_helpers.py): the figures, their numerators and denominators, the exclusion
window left out, scores and hot topics; the XLSX read back with openpyxl (typed cells, a sheet
per table, drill-down sheets), the PDF read back with pypdf (Chinese headings, font
embedded); the API with its drill-down, numbers masked by role; the CLI's files."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from acd.kpi import KpiParams
from hotline.cli import cli
from hotline.reports import periods
from hotline.reports.build import (
    ReportPolicy,
    build_report,
    case_section,
    drill_calls,
    drill_cases,
    report_drills,
    unit_scores,
)
from hotline.reports.pdf import HEADINGS, to_pdf
from hotline.reports.xlsx import SHEETS, to_xlsx
from hotline.web.app import create_app
from tests.web.auth_helpers import bearer
from tests.web.fake_live import FakeLive
from tests.web.report_helpers import CALLERS, CALLS, SHANGHAI, seed
from ticketing import reports as queries
from ticketing.agents import AgentDirectory
from ticketing.call_rows import calls
from ticketing.qa import QaDesk, ScorecardItem
from ticketing.reports import ReportFilter
from ticketing.store import TicketStore

PARAMS = KpiParams()
DAILY = periods.daily(date(2026, 11, 23), SHANGHAI)
WEEKLY = periods.weekly(date(2026, 11, 25), SHANGHAI)


def nd(figure: dict[str, Any]) -> tuple[Any, Any]:
    return figure["numerator"], figure["denominator"]


async def test_daily_figures_are_the_hand_counted_ones(store: TicketStore) -> None:
    await seed(store)
    report = await build_report(store.engine, DAILY, ReportFilter(), PARAMS)
    calls = report["call_kpis"]
    totals = calls["totals"]
    # c1, c2, c3 counted; c4 arrived in the exclusion window; c5 is the week before.
    assert calls["calls"] == 3
    assert calls["excluded"] == {"calls": 1, "by_reason": {"系统故障": 1}}
    assert nd(totals["connect_rate"]) == (2, 3)
    assert nd(totals["answer_timeliness"]) == (1, 2)  # c1 in 3 s; c2 after 20 s
    assert nd(totals["abandon_rate"]) == (1, 3)
    assert nd(totals["satisfaction"]) == (1, 2)
    assert totals["asa"]["value"] == (3 + 20) / 2
    assert "÷" in totals["connect_rate"]["formula"]
    assert list(calls["by_hour"]) == ["2026-11-23T10:00+08:00"]
    # Per the category, area and unit of each call's case (c4 excluded).
    assert nd(calls["by_category"]["complaint"]["connect_rate"]) == (2, 2)
    assert nd(calls["by_category"]["help"]["abandon_rate"]) == (1, 1)
    assert calls["by_area"]["台江区"]["offered"]["value"] == 1
    assert set(calls["by_unit"]) == {"住建局", "水务局"}
    assert calls["hour_of_day"]["10"] == 3 and sum(calls["hour_of_day"].values()) == 3

    cases = report["case_kpis"]
    assert cases["totals"]["cases"] == 4  # c1-c4's cases (c4 still counts: it is a case)
    zjj = cases["by_unit"]["住建局"]
    assert nd(zjj["on_time_rate"]) == (2, 3)  # on time; late despite the extension; redo on time
    assert nd(zjj["extension_rate"]) == (1, 2)
    assert nd(zjj["redo_rate"]) == (1, 3)
    assert nd(cases["by_unit"]["水务局"]["return_rate"]) == (1, 1)
    assert nd(cases["totals"]["callback_coverage"]) == (2, 2)
    assert nd(cases["totals"]["satisfaction"]) == (1, 2)
    assert nd(cases["totals"]["process_satisfaction"]) == (1, 1)
    complaint = cases["by_category"]["complaint"]
    assert complaint["cases"] == 2 and nd(complaint["on_time_rate"]) == (2, 3)
    assert nd(cases["by_category"]["help"]["return_rate"]) == (1, 1)
    assert cases["by_area"]["台江区"]["cases"] == 2

    scores = {s["unit"]: s for s in report["unit_scores"]}
    # 住建局: 100 × 1/2 rated satisfied − 1 overdue − 1 redo + 0.5 × 1 top rating.
    assert scores["住建局"]["score"] == 48.5
    assert (scores["住建局"]["overdue"], scores["住建局"]["redos"]) == (1, 1)
    assert scores["水务局"]["score"] == 100.0
    # The weights are a policy (settings [reports]), not constants.
    strict = await build_report(
        store.engine, DAILY, ReportFilter(), PARAMS, policy=ReportPolicy(2.0, 0.0, 1)
    )
    assert {s["unit"]: s["score"] for s in strict["unit_scores"]}["住建局"] == 50 - 2 * 2
    assert len(strict["hot_topics"]["categories"]) == 1
    [agent] = report["agent_scores"]
    assert (agent["agent"], agent["answered"], agent["answer_timeliness"]) == ("Agent 1", 2, 0.5)


@pytest.mark.parametrize("period", [DAILY, WEEKLY, periods.monthly(2026, 11, SHANGHAI)])
async def test_case_figures_counted_in_sql_are_case_kpis_over_the_histories(
    store: TicketStore, period: periods.Period
) -> None:
    """The database counts the case figures (fast on a big year); case_kpis over the cases'
    histories (the definition, as /api/case-kpis) gives the same figures."""
    await seed(store)
    for flt in (ReportFilter(), ReportFilter(area="鼓楼区"), ReportFilter(unit="水务局")):
        report = await build_report(store.engine, period, flt, PARAMS)
        async with store.engine.connect() as connection:
            histories = await queries.case_histories(connection, period.start, period.end, flt)
        assert report["case_kpis"] == case_section(histories), flt
        python_scores = unit_scores(histories, report["case_kpis"]["by_unit"], ReportPolicy())
        assert report["unit_scores"] == python_scores, flt


async def test_agent_score_is_the_qa_desks_monthly_score_beside_the_agents_calls(
    store: TicketStore,
) -> None:
    await seed(store)
    await store.add_user("li", "李丽", "agent", "x")
    await AgentDirectory(store.engine).set_agent(
        "li", extension="1001", name="Agent 1", interface="PJSIP/1001"
    )
    card = [ScorecardItem("greeting", "开头语", 60), ScorecardItem("accuracy", "准确", 40)]
    qa = QaDesk(store.engine, card)
    async with store.engine.connect() as connection:
        call_id = (await connection.execute(
            select(calls.c.id).where(calls.c.linkedid == CALLS["c1"]["linkedid"])
        )).scalar_one()  # fmt: skip
    given = [{"id": "greeting", "points": 60}, {"id": "accuracy", "points": 30, "comment": "x"}]
    await qa.score(call_id, given, "qa1")
    report = await build_report(store.engine, DAILY, ReportFilter(), PARAMS, qa=qa)
    # One row: the QA desk names the agent by user, and so do the call figures.
    [agent] = report["agent_scores"]
    assert (agent["agent"], agent["qa_score"], agent["qa_calls"]) == ("li", 90.0, 1)
    assert (agent["answered"], agent["answer_timeliness"]) == (2, 0.5)
    # The agent's row drills to the calls the agent answered, by user or by member name.
    for name in ("li", "Agent 1"):
        answered = await drill_calls(
            store.engine, DAILY.start, DAILY.end, ReportFilter(agent=name), "answered", PARAMS
        )
        linked = [CALLS["c1"]["linkedid"], CALLS["c2"]["linkedid"]]
        assert [c["linkedid"] for c in answered] == linked, name
    nobody = ReportFilter(agent="zhang")
    assert await drill_calls(store.engine, DAILY.start, DAILY.end, nobody, "answered", PARAMS) == []


async def test_weekly_hot_topics_change_against_the_week_before(store: TicketStore) -> None:
    await seed(store)
    report = await build_report(store.engine, WEEKLY, ReportFilter(), PARAMS)
    assert WEEKLY.label == "2026-W48"
    categories = {t["key"]: t for t in report["hot_topics"]["categories"]}
    assert (categories["complaint"]["cases"], categories["complaint"]["previous"]) == (2, 1)
    assert (categories["complaint"]["change"], categories["complaint"]["change_rate"]) == (1, 1.0)
    assert categories["help"]["change_rate"] is None  # none the week before: no rate
    assert report["hot_topics"]["categories"][0]["key"] == "complaint"
    areas = {t["key"]: t for t in report["hot_topics"]["areas"]}
    assert areas["台江区"]["cases"] == 2
    # A filter narrows calls and cases alike.
    gulou = await build_report(store.engine, WEEKLY, ReportFilter(area="鼓楼区"), PARAMS)
    assert gulou["call_kpis"]["calls"] == 2 and gulou["case_kpis"]["totals"]["cases"] == 2


async def test_drill_down_lists_the_calls_and_cases_behind_a_figure(store: TicketStore) -> None:
    ids = await seed(store)
    start, end = DAILY.start, DAILY.end
    late = await drill_calls(store.engine, start, end, ReportFilter(), "answered_late", PARAMS)
    assert [c["linkedid"] for c in late] == [CALLS["c2"]["linkedid"]]
    excluded = await drill_calls(store.engine, start, end, ReportFilter(), "excluded", PARAMS)
    assert [c["linkedid"] for c in excluded] == [CALLS["c4"]["linkedid"]]
    overdue = await drill_cases(
        store.engine, start, end, ReportFilter(), "on_time_rate", "shortfall", "住建局"
    )
    assert [c["id"] for c in overdue] == [ids["c2"]]
    answers = await drill_cases(
        store.engine, start, end, ReportFilter(), "on_time_rate", "denominator", "住建局"
    )
    assert [c["id"] for c in answers] == [ids["c1"], ids["c2"]]
    complaints = await drill_cases(
        store.engine, start, end, ReportFilter(category="complaint"), "cases"
    )
    assert [c["id"] for c in complaints] == [ids["c1"], ids["c2"]]


async def test_xlsx_has_typed_cells_a_sheet_per_table_and_drill_down_sheets(
    store: TicketStore,
) -> None:
    await seed(store)
    report = await build_report(store.engine, DAILY, ReportFilter(), PARAMS)
    drills = await report_drills(store.engine, DAILY, ReportFilter(), PARAMS, role="file")
    book = load_workbook(io.BytesIO(to_xlsx(report, drills)))
    assert book.sheetnames == list(SHEETS.values())
    summary = book[SHEETS["summary"]]
    rows = {row[0].value: row for row in summary.iter_rows() if row[0].value}
    connect = rows["人工接通率 human connect rate"]
    assert isinstance(connect[1].value, float) and connect[1].value == pytest.approx(2 / 3)
    assert connect[1].number_format == "0.0%"
    assert (connect[2].value, connect[3].value) == (2, 3)
    assert isinstance(summary["B2"].value, datetime)  # the period's start, a real date cell
    hour = book[SHEETS["by_hour"]]
    assert hour["A2"].value == datetime(2026, 11, 23, 10, 0)
    assert hour["B2"].value == 3 and isinstance(hour["B2"].value, int)
    day = book[SHEETS["by_day"]]
    assert day["A2"].value == datetime(2026, 11, 23)  # Excel keeps dates as datetimes
    units = {row[0].value: row for row in book[SHEETS["by_unit"]].iter_rows(min_row=2)}
    assert units["住建局"][2].value == pytest.approx(2 / 3)  # on-time rate, a number
    calls = [row for row in book[SHEETS["drill_calls"]].iter_rows(min_row=2, values_only=True)]
    late = [row for row in calls if row[0] == "超时接通 answered late"]
    assert len(late) == 1 and isinstance(late[0][1], datetime)
    assert late[0][2] != CALLERS["c2"] and late[0][2].endswith(CALLERS["c2"][-4:])  # masked
    cases = [row for row in book[SHEETS["drill_cases"]].iter_rows(min_row=2, values_only=True)]
    assert {row[0] for row in cases} >= {"超期办结 overdue", "退件 returned", "重办 redone"}


async def test_xlsx_keeps_bold_frozen_headers_widths_and_empty_cells_for_missing_figures(
    store: TicketStore,
) -> None:
    # The workbook is streamed (openpyxl write-only): widths, panes and styles must still be
    # there, and a figure that cannot be computed must stay an empty cell, never 0.
    await seed(store)
    report = await build_report(store.engine, DAILY, ReportFilter(), PARAMS)
    drills = await report_drills(store.engine, DAILY, ReportFilter(), PARAMS, role="file")
    book = load_workbook(io.BytesIO(to_xlsx(report, drills)))
    summary = book[SHEETS["summary"]]
    assert summary["A1"].font.b and summary["A1"].font.sz == 14
    assert summary.column_dimensions["A"].width == 34 and summary.freeze_panes is None
    for name in ("by_hour", "by_unit", "drill_calls", "drill_cases"):
        sheet = book[SHEETS[name]]
        assert sheet.freeze_panes == "B2" and sheet.column_dimensions["A"].width == 20
        assert all(cell.font.b for cell in sheet[1]), name
        assert not any(cell.font.b for cell in sheet[2]), name
    assert book[SHEETS["by_hour"]]["A2"].number_format == "yyyy-mm-dd hh:mm"
    rates = {row[0].value: row for row in book[SHEETS["by_unit"]].iter_rows(min_row=2)}
    # 水务局 answered nothing: no on-time rate, no redo rate — empty, beside their 0 counts.
    assert rates["水务局"][2].value is None and rates["水务局"][3].value == 0
    assert rates["水务局"][8].value is None and rates["水务局"][9].value == 0
    drill = book[SHEETS["drill_cases"]]
    assert drill["G2"].is_date and drill["G2"].number_format == "yyyy-mm-dd hh:mm"


async def test_pdf_has_chinese_headings_charts_and_the_font_embedded(store: TicketStore) -> None:
    await seed(store)
    report = await build_report(store.engine, WEEKLY, ReportFilter(), PARAMS)
    reader = PdfReader(io.BytesIO(to_pdf(report)))
    text = "".join(page.extract_text() for page in reader.pages)
    for heading in HEADINGS:
        assert heading in text
    assert "周报" in text and "住建局" in text and "15秒接通率" in text
    embedded = set()
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for font in fonts.values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                descriptor = descendant.get_object().get("/FontDescriptor")
                if descriptor is not None and "/FontFile2" in descriptor.get_object():
                    embedded.add(str(font["/BaseFont"]))
    assert any("HotlineCJK" in name or "WenQuanYi" in name for name in embedded), embedded


async def test_api_report_drill_and_files_by_role(aiohttp_client: Any, store: TicketStore) -> None:
    await seed(store)
    client = await aiohttp_client(create_app(FakeLive(), dict, store=store))
    supervisor = await bearer(store, "zhao-s", "supervisor")
    auditor = await bearer(store, "chen-a", "auditor")
    agent = await bearer(store, "li-a", "agent")
    query = "kind=daily&date=2026-11-23"
    response = await client.get(f"/api/reports?{query}", headers=supervisor)
    assert response.status == 200
    body = await response.json()
    assert body["call_kpis"]["totals"]["connect_rate"]["numerator"] == 2
    assert (await client.get(f"/api/reports?{query}", headers=agent)).status == 403
    # Any range: 16 to 23 November, both days included; the period before is as long.
    ranged = await client.get("/api/reports?kind=range&from=2026-11-16&to=2026-11-23",
                              headers=supervisor)  # fmt: skip
    body = await ranged.json()
    assert body["call_kpis"]["calls"] == 4 and body["label"] == "2026-11-16..2026-11-23"
    assert body["previous"]["from"].startswith("2026-11-08")
    bad = await client.get("/api/reports?kind=monthly&month=2026-13", headers=supervisor)
    assert bad.status == 400 and (await bad.json())["error"]["id"] == "input.time"
    long = await client.get("/api/reports?kind=range&from=2020-01-01&to=2026-11-30",
                            headers=supervisor)  # fmt: skip
    assert long.status == 400 and (await long.json())["error"]["id"] == "input.span"

    drill = "/api/reports/drill?from=2026-11-23&to=2026-11-23&figure=answered"
    seen = await (await client.get(drill, headers=supervisor)).json()
    assert sorted(c["caller_num"] for c in seen["calls"]) == [CALLERS["c1"], CALLERS["c2"]]
    masked = await (await client.get(drill, headers=auditor)).json()
    assert all(CALLERS["c1"] != c["caller_num"] for c in masked["calls"])
    cases = await client.get(
        "/api/reports/drill?from=2026-11-23&to=2026-11-23&figure=return_rate&holder=水务局",
        headers=auditor,
    )
    assert [c["unit"] for c in (await cases.json())["cases"]] == ["水务局"]
    assert (await client.get(drill, headers=agent)).status == 403
    # A hot topic's count the week before drills to that week's cases: c5's.
    weekly = await (await client.get("/api/reports?kind=weekly&date=2026-11-25",
                                     headers=supervisor)).json()  # fmt: skip
    before = weekly["previous"]
    got = await client.get(
        "/api/reports/drill",
        headers=supervisor,
        params={
            "from": before["from"],
            "to": before["to"],
            "figure": "cases",
            "category": "complaint",
        },
    )
    assert [c["caller_num"] for c in (await got.json())["cases"]] == [CALLERS["c5"]]

    for kind, magic in (("xlsx", b"PK"), ("pdf", b"%PDF")):
        got = await client.get(f"/api/reports/export?{query}&format={kind}", headers=supervisor)
        assert got.status == 200
        assert (await got.read()).startswith(magic)
    log = await store.access_log(actor="zhao-s")
    assert [e["action"] for e in log].count("report.export") == 2


def test_cli_writes_the_monthly_briefing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"

    async def seeded() -> None:
        opened = await TicketStore.open(url)
        try:
            await seed(opened)
        finally:
            await opened.close()

    asyncio.run(seeded())
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    monkeypatch.setenv("HOTLINE_DATABASE__URL", url)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["report", "monthly", "--month", "2026-11", "--out", str(out)],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["report-monthly-2026-11.pdf", "report-monthly-2026-11.xlsx"]
    book = load_workbook(out / "report-monthly-2026-11.xlsx")
    assert book[SHEETS["by_day"]].max_row == 3  # 16 and 23 November
    assert "月度简报" in PdfReader(out / "report-monthly-2026-11.pdf").pages[0].extract_text()
    wrong = CliRunner().invoke(cli, ["report", "daily", "--out", str(out)])
    assert wrong.exit_code == 2 and "needs a date" in wrong.output
