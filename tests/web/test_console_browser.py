"""The supervisor console in a real headless Chromium (tests/chromium.py), on the real
service: an incident published on the console page is heard by the next simulated caller.

browser → /console/incidents → POST /api/incidents → the service's IncidentDesk → its FastAGI
IVR → the simulated caller (tests/service/test_ivr_end_to_end.py's rig, with the web app on).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from hotline.service import HotlineService
from hotline.sim.actions import attach
from hotline.sim.agi_client import Phone
from hotline.sim.agi_driver import FastAgiDriver
from hotline.sim.ami_server import AmiServer
from hotline.sim.model import CallerScript
from hotline.sim.traffic import AgentProfile, Simulation, TrafficModel
from tests.service.helpers import service_settings
from tests.service.test_ivr_end_to_end import SPEED, START, Rig, agi_session, play, stored_records
from tests.web.auth_helpers import PASSWORD, add_password_user

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page


@asynccontextmanager
async def served(tmp_path: Path) -> AsyncIterator[Rig]:
    """The rig of the IVR end-to-end test, with the service's web app listening."""
    async with AmiServer(secret="hotline-secret") as server:
        agent = AgentProfile(
            1, ["hotline-general"], ring_min=1, ring_max=1, talk_mean=5, talk_min=5, no_answer=0.0
        )
        sim = Simulation(
            TrafficModel(peak_calls_per_hour=0.0, agents=[agent]),
            seed=1,
            queue_log_path=tmp_path / "queue_log",
            start=START,
        )
        pump = attach(sim.pbx, server)
        service = HotlineService(service_settings(tmp_path, server.port), now=lambda: sim.now)
        await service.start()
        assert service.link is not None and service.ivr.port is not None
        await service.link.wait_connected(timeout=10)
        driver = FastAgiDriver("127.0.0.1", service.ivr.port, speed=SPEED)
        sim.pbx.ivr_driver = driver
        try:
            yield Rig(service, sim, driver)
        finally:
            await driver.close()
            await service.stop()
            await pump.close()
            sim.close()


async def _shot(page: Page, tmp_path: Path, name: str) -> None:
    shot = Path(os.environ.get("HOTLINE_SCREENSHOT_DIR", tmp_path)) / name
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


async def test_an_incident_published_in_the_console_is_heard_by_the_next_caller(
    tmp_path: Path, chromium: BrowserContext
) -> None:
    async with served(tmp_path) as rig:
        service = rig.service
        assert service.store is not None and service.web_port is not None
        await add_password_user(service.store, "wang", "supervisor")
        url = f"http://127.0.0.1:{service.web_port}"
        page = await chromium.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

        # Not logged in: the console page sends the browser to the login page and back.
        await page.goto(url + "/console/incidents")
        await page.wait_for_url(re.compile(r"/login\?next="), timeout=10_000)
        await page.fill("#username", "wang")
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(url + "/console/incidents", timeout=10_000)
        await page.wait_for_selector("body[data-loaded='yes']", timeout=10_000)
        assert "没有故障公告" in await page.locator("#incidents").inner_text()

        # The service runs on the simulated clock (an evening in November 2026): a start the
        # day before is in the past whatever the browser's time zone.
        await page.fill("#inc-id", "water-1125")
        await page.fill("#inc-title", "东区停水")
        await page.fill("#inc-start", "2026-11-24T12:00")
        await page.fill("#inc-prefixes", "1390")
        await page.fill("#inc-districts", "东区")
        await page.fill("#inc-branch", "main")
        await page.fill("#inc-text", "东区因管道抢修停水，预计今晚恢复。")
        await page.click("#new-incident button[type=submit]")
        row = page.locator("tr[data-incident='water-1125']")
        await row.wait_for(timeout=10_000)
        assert "进行中 active" in await row.inner_text()
        assert "1390…, 东区" in await row.inner_text()
        await _shot(page, tmp_path, "console-incidents.png")

        # The next caller from the area hears it in the main menu (the IVR's STREAM FILE)…
        port = service.ivr.port
        assert port is not None
        published = service.ivr.desk.board.get("water-1125")
        assert published is not None and published.branch == "main"
        assert published.text == "东区因管道抢修停水，预计今晚恢复。"
        heard = await agi_session(port, "ivr", "13900007777", "console-1", Phone(keys=[None]))
        assert f"STREAM FILE {published.prompt} " in " ".join(heard), heard
        # …and a caller who goes on to the queue is merged into it (并单) and shown merged.
        caller = CallerScript("13900008888", "甲", "1", talk_limit=5)
        await play(rig, [caller])
        (truth,) = rig.sim.truths
        assert (await stored_records(service))[truth.uniqueid]["incident_id"] == "water-1125"
        async with asyncio.timeout(10):
            while not (await service.store.incidents())[0]["merged_callers"]:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        await page.reload()
        await page.locator("tr[data-incident='water-1125'] [data-action='merged']").click()
        await page.wait_for_selector("#merged-panel:not([hidden]) td.caller", timeout=10_000)
        # A supervisor sees the number in full (the role rule of the desk).
        assert "13900008888" in await page.locator("#merged").inner_text()

        # Ended in the console: no longer announced.
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.locator("tr[data-incident='water-1125'] [data-action='end']").click()
        await page.wait_for_selector(
            "tr[data-incident='water-1125'][data-status='ended']", timeout=10_000
        )
        await _shot(page, tmp_path, "console-incident-ended.png")
        later = await agi_session(port, "ivr", "13900009999", "console-2", Phone(keys=[None]))
        assert f"STREAM FILE {published.prompt} " not in " ".join(later), later
        assert errors == []
