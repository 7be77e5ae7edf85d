"""The monthly briefing (月度简报) in a real headless Chromium (tests/chromium.py): a supervisor
opens it, the charts are drawn (uPlot canvases), and a click on a figure lists the calls
behind it, then a click on a unit's overdue count lists its cases. Screenshots are artifacts."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from hotline.web.app import create_app
from tests.web.auth_helpers import PASSWORD, add_password_user
from tests.web.fake_live import FakeLive
from tests.web.report_helpers import CALLERS, seed
from ticketing.store import TicketStore

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext


@pytest.fixture
async def served(store: TicketStore) -> AsyncIterator[str]:
    await seed(store)
    await add_password_user(store, "zhao", "supervisor")
    runner = web.AppRunner(create_app(FakeLive(), dict, store=store))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("HOTLINE_SCREENSHOT_DIR", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def test_monthly_briefing_draws_charts_and_drills_down(
    served: str, chromium: BrowserContext, tmp_path: Path
) -> None:
    folder = shots(tmp_path)
    page = await chromium.new_page()
    path = "/console/reports/monthly?month=2026-11"
    await page.goto(served + path)
    await page.wait_for_url(re.compile(r"/login\?next="), timeout=10_000)
    await page.fill("#username", "zhao")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_selector("body[data-loaded=yes]", timeout=15_000)
    assert "月度简报" in await page.title()
    for chart in ("chart-hour", "chart-day", "chart-timely", "chart-category", "chart-units",
                  "chart-satisfaction"):  # fmt: skip
        await page.wait_for_selector(f"#{chart} canvas", timeout=10_000)
    formula = await page.locator("#case-formulas li[data-figure=on_time_rate]").inner_text()
    assert "÷" in formula  # each case figure's formula is shown with it
    # The nav offers the three report pages to a supervisor.
    assert await page.locator("#console-nav a[href='/console/reports/daily']").count() == 1

    # Answered in November: c1, c2 (23rd) and c5 (16th); c4 was in the exclusion window.
    await page.click("tr[data-figure=answered] button.drill")
    await page.wait_for_selector("#drill:not([hidden]) tr.drill-row", timeout=10_000)
    rows = page.locator("#drill-rows tr.drill-row")
    assert await rows.count() == 3
    shown = await page.locator("#drill-rows").inner_text()
    assert CALLERS["c1"] in shown  # a supervisor sees the full number (caller_mask)

    # A day's row drills to that day's calls: 16 November answered c5 alone.
    await page.click("#call-days tr[data-key='2026-11-16'] button.drill >> nth=1")
    await page.wait_for_selector("#drill-what:has-text('2026-11-16')", timeout=10_000)
    assert await page.locator("#drill-rows tr.drill-row").count() == 1

    # Hot topics: last month's count drills to last month's cases (none in October).
    await page.click("#hot-categories tr >> nth=1 >> button.drill >> nth=1")
    await page.wait_for_selector("#drill-what:has-text('上期')", timeout=10_000)
    assert await page.locator("#drill-rows tr.drill-row").count() == 0

    # An agent's row drills to the calls the agent answered: c1, c2, c5.
    await page.click("#call-agents tr[data-key='Agent 1'] button.drill >> nth=0")
    await page.wait_for_selector("#drill-what:has-text('Agent 1')", timeout=10_000)
    assert await page.locator("#drill-rows tr.drill-row").count() == 3

    await page.click("#unit-scores button.drill >> nth=0")  # 住建局's overdue answers
    # (wait_for_function would evaluate a string: the page's CSP forbids eval)
    await page.wait_for_selector("#drill-what:has-text('超期')", timeout=10_000)
    assert await page.locator("#drill-rows tr.drill-row").count() == 1
    await page.screenshot(path=str(folder / "console-report-monthly.png"), full_page=True)

    # Any range, on the same page: both days given.
    await page.fill("#report-from", "2026-11-16")
    await page.fill("#report-to", "2026-11-16")
    await page.click("#period button[type=submit]")
    await page.wait_for_selector("#period-label:has-text('2026-11-16..2026-11-16')", timeout=10_000)
    offered = page.locator("tr[data-figure=offered] td.num button.drill").first
    assert await offered.inner_text() == "1"  # c5 alone

    # The daily log and the weekly report are the same page for their own periods.
    for path, title, calls in (
        ("/console/reports/daily?date=2026-11-23", "日报", "3"),
        ("/console/reports/weekly?date=2026-11-25", "周报", "3"),
    ):
        await page.goto(served + path)
        await page.wait_for_selector("body[data-loaded=yes]", timeout=15_000)
        assert title in await page.title()
        await page.wait_for_selector("#chart-hour canvas", timeout=10_000)
        offered = page.locator("tr[data-figure=offered] td.num button.drill").first
        assert await offered.inner_text() == calls, path
