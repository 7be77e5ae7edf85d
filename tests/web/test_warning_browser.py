"""Early warning and staffing in a real headless Chromium on the real service: a burst's
suggestion shows on the console's incidents page, one click announces it (the next caller
from the area hears it), another is dismissed with a reason (in the access log); the
staffing page plans typed calls with Erlang C."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING

from hotline.sim.agi_client import Phone
from tests.service.test_ivr_end_to_end import START, agi_session
from tests.web.auth_helpers import PASSWORD, add_password_user
from tests.web.test_console_browser import _shot, served

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page


async def _login(page: Page, url: str, path: str) -> None:
    await page.goto(url + path)
    await page.wait_for_url(re.compile(r"/login\?next="), timeout=10_000)
    await page.fill("#username", "wang")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(url + path, timeout=10_000)
    await page.wait_for_selector("body[data-loaded='yes']", timeout=10_000)


def burst_call(prefix: str, n: int) -> dict[str, object]:
    """A call.ended payload of a caller from the area pressing 2 then 1 (urgent help)."""
    return {
        "linkedid": f"{prefix}.{n}",
        "pbx": "pbx1",
        "caller_num": f"{prefix}{n:04d}",
        "started_at": START - 600 + 30 * n,
        "ivr_choice": "21",
        "vars": {"HOTLINE_CATEGORY": "help"},
    }


async def test_a_suggestion_is_announced_in_one_click_and_another_dismissed(
    tmp_path: Path, chromium: BrowserContext
) -> None:
    async with served(tmp_path) as rig:
        service = rig.service
        warning = service.warning
        assert warning is not None and service.store is not None
        assert service.web_port is not None and service.ivr.port is not None
        for n in range(10):  # warning.min_calls: ten calls from 1390… within 15 minutes
            await warning.observe(burst_call("1390555", n))
        await add_password_user(service.store, "wang", "supervisor")
        url = f"http://127.0.0.1:{service.web_port}"
        page = await chromium.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        await _login(page, url, "/console/incidents")

        (suggestion,) = warning.list()
        row = page.locator(f"tr[data-warning='{suggestion['id']}']")
        await row.wait_for(timeout=10_000)
        text = await row.inner_text()
        assert "1390555…" in text and "help" in text
        assert await row.locator(".warning-calls").inner_text() == "10"
        await _shot(page, tmp_path, "console-warnings.png")

        # One click: announced; the incident list shows it, the next caller hears it.
        await row.locator("button[data-action='accept']").click()
        await page.locator(
            f"tr[data-warning='{suggestion['id']}'][data-status='accepted']"
        ).wait_for(timeout=10_000)
        await page.locator(f"tr[data-incident='{suggestion['id']}']").wait_for(timeout=10_000)
        published = service.ivr.board.get(suggestion["id"])
        assert published is not None and published.prefixes == ("1390555",)
        heard = await agi_session(
            service.ivr.port, "ivr", "13905559999", "warn-1", Phone(keys=[None])
        )
        assert f"STREAM FILE {published.prompt} " in " ".join(heard), heard
        other = await agi_session(
            service.ivr.port, "ivr", "13800001111", "warn-2", Phone(keys=[None])
        )
        assert f"STREAM FILE {published.prompt} " not in " ".join(other)

        # Another area's burst, dismissed with a reason: logged with who and why.
        for n in range(10):
            await warning.observe(burst_call("1380666", n))
        second = next(s for s in warning.list() if s["status"] == "open")
        await page.reload()
        await page.wait_for_selector("body[data-loaded='yes']", timeout=10_000)
        page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept("计划检修")))
        await page.locator(
            f"tr[data-warning='{second['id']}'] button[data-action='dismiss']"
        ).click()
        await page.locator(f"tr[data-warning='{second['id']}'][data-status='dismissed']").wait_for(
            timeout=10_000
        )
        log = await service.store.access_log(actor="wang")
        (entry,) = [e for e in log if e["action"] == "warning.dismiss"]
        assert entry["detail"]["reason"] == "计划检修"
        assert errors == []


async def test_the_staffing_page_plans_typed_calls(
    tmp_path: Path, chromium: BrowserContext
) -> None:
    async with served(tmp_path) as rig:
        service = rig.service
        assert service.store is not None and service.web_port is not None
        await add_password_user(service.store, "wang", "supervisor")
        url = f"http://127.0.0.1:{service.web_port}"
        page = await chromium.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await _login(page, url, "/console/staffing?date=2026-12-03")
        assert await page.locator("#slots tr").count() == 48
        # The Call Centre Helper example: 100 calls in the half hour, AHT 180 s, 80 % in 20 s.
        await page.fill("#plan-answer", "20")
        await page.fill("#plan-aht", "180")
        await page.fill("input[data-slot='18']", "100")
        await page.dispatch_event("input[data-slot='18']", "change")
        await page.click("#plan-form button[type=submit]")
        await page.wait_for_selector("body[data-loaded='yes']", timeout=10_000)
        await page.locator("tr[data-slot='18'][data-agents='14']").wait_for(timeout=10_000)
        assert "峰值 peak 14" in await page.locator("#peak").inner_text()
        await _shot(page, tmp_path, "console-staffing.png")
        assert errors == []
