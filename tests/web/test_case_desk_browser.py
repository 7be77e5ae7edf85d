"""A case from a live call to the archive, in a real headless Chromium, each person in their
own role and session: the simulated PBX rings the agent's phone (the robot agent answers),
the desk offers a neighbour's open case about the same address (并单) and the agent registers
the call "to be dispatched"; the agent dispatches it from the case console; the unit's
console, open all along, shows the case arrive and then a chase without a reload (/ws/cases);
the unit signs and answers; the agent's call-back finds the citizen satisfied and the case is
archived — every step in the case's history with its actor, the deadline shown in the
hotline's local time (Asia/Shanghai), stored in UTC.

The agent's pages are on http://127.0.0.1, the unit's on http://localhost: the same server,
but two hosts keep two sessions (cookies are per host) in one browser.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from hotline.sim.model import CallerScript
from hotline.web.auth_passwords import hash_password
from tests.web.auth_helpers import PASSWORD
from tests.web.test_case_browser import do, open_from
from tests.web.test_desk_browser import CALLER, log_in, rig, shots
from ticketing.registrations import CallFacts, Registration

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

UNIT = "住建局"
ADDRESS = "中山路1号"
SHANGHAI = ZoneInfo("Asia/Shanghai")


async def console_log_in(page: Page, url: str, username: str) -> None:
    await page.goto(url + "/cases")
    await page.wait_for_url(re.compile(r"/login\?next=(/|%2F)cases$"), timeout=10_000)
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(url + "/cases", timeout=10_000)
    await page.wait_for_selector("body[data-ready='1'][data-link='live']", timeout=10_000)


async def test_a_call_from_the_desk_to_the_archive_in_chromium(
    chromium: BrowserContext, tmp_path: Path
) -> None:
    async with rig(tmp_path) as r:
        store = r.service.store
        assert store is not None
        await store.add_unit(UNIT)
        await store.add_user("zjj", "张 住建局", "unit", hash_password(PASSWORD), UNIT)
        neighbour = await store.register_call(
            Registration("neighbour-call", "complaint", "夜市噪音", "dispatched",
                         address=ADDRESS),
            "zhao", CallFacts("13900000002", "李四", 0),
        )  # fmt: skip
        folder = shots(tmp_path)
        errors: list[str] = []

        # The unit's console is open on its inbox before anything happens.
        unit_url = r.url.replace("127.0.0.1", "localhost")
        unit = await chromium.new_page()
        unit.on("pageerror", lambda error: errors.append(f"unit: {error}"))
        await console_log_in(unit, unit_url, "zjj")
        await unit.wait_for_selector("body[data-tab='inbox'][data-list='ready']")

        # The citizen calls: 3 = complaint, wang's phone rings and the robot answers.
        desk = await chromium.new_page()
        desk.on("pageerror", lambda error: errors.append(f"desk: {error}"))
        await log_in(desk, r.url, "wang")
        r.sim.place_call(CallerScript(CALLER, "张三", dtmf="3", dtmf_delay=0.5))
        await desk.wait_for_selector("body[data-pop='answered']", timeout=60_000)
        assert await desk.locator("#pop-number").inner_text() == CALLER
        assert await desk.locator("#f-category").input_value() == "complaint"
        # Typing the address, the desk offers the neighbour's open case about it (并单).
        await desk.fill("#f-address", ADDRESS)
        offered = f"#place-cases li[data-ticket='{neighbour['ticket']}']"
        await desk.wait_for_selector(f"#place-box:not([hidden]) {offered}", timeout=10_000)
        await desk.screenshot(path=str(folder / "case-desk-same-place.png"))
        # This caller's matter is another one: registered on its own, to be dispatched.
        await desk.fill("#f-district", "玄武区")
        await desk.fill("#f-content", "小区门口井盖缺失，夜间危险")
        await desk.click("#ending-dispatched")
        await desk.keyboard.press("Control+Enter")
        await desk.wait_for_selector("#register-result[data-ticket]", timeout=10_000)
        number = await desk.locator("#register-result").get_attribute("data-ticket")
        assert number is not None and number != neighbour["ticket"]

        # The agent dispatches it from the case console (the desk's own session).
        await desk.goto(f"{r.url}/cases?case={number}")
        await desk.wait_for_selector(f"body[data-ready='1'] #case[data-number='{number}']")
        assert await desk.locator("#case").get_attribute("data-status") == "to_dispatch"
        await do(desk, "dispatch", "dispatched", unit=UNIT, reason="属地管理")

        # The unit's inbox shows it without a reload; its deadline is in local time.
        row = f"#cases tr[data-number='{number}']"
        await unit.wait_for_selector(row, timeout=15_000)
        await unit.click(row)
        await unit.wait_for_selector(f"#case[data-number='{number}']")
        case = await store.case_by_number(number)
        assert case is not None
        due_utc = datetime.fromisoformat(case["due_at"])
        assert due_utc.utcoffset() is not None and due_utc.utcoffset().total_seconds() == 0
        due_local = due_utc.astimezone(SHANGHAI)
        assert due_local.strftime("%H:%M") == "17:00"  # a working day's close of business
        deadline = await unit.locator("#case-deadline").inner_text()
        assert due_local.strftime("%Y-%m-%d %H:%M") in deadline
        assert due_utc.strftime("%Y-%m-%d %H:%M") not in deadline
        assert "138****5678" in await unit.locator("#case-facts").inner_text()
        await do(unit, "sign", "signed")

        # The agent's open case follows (signed, pushed); the agent chases it, and the
        # unit's open case shows the chase without a reload.
        await desk.wait_for_selector("#case[data-status='signed']", timeout=15_000)
        await do(desk, "chase", "signed", reason="市民再次来电催促")
        await unit.wait_for_selector("#history li[data-kind='chase']", timeout=15_000)
        await unit.screenshot(path=str(folder / "case-unit-chased.png"))
        await do(unit, "answer", "answered", answer="已补装井盖")

        # The agent's call-back: satisfied, and the case is archived.
        await open_from(desk, "callbacks", number)
        await do(desk, "call_back", "archived", satisfaction="satisfied",
                 process_satisfaction="satisfied")  # fmt: skip
        await desk.screenshot(path=str(folder / "case-desk-archived.png"), full_page=True)
        history = desk.locator("#history li")
        steps = [
            (await history.nth(i).get_attribute("data-kind"),
             await history.nth(i).get_attribute("data-actor"))
            for i in range(await history.count())
        ]  # fmt: skip
        assert errors == []

    workflow = [step for step in steps if step[0] not in ("created", "registered")]
    assert workflow == [
        ("submit", "wang"), ("dispatch", "wang"), ("sign", "zjj"), ("chase", "wang"),
        ("answer", "zjj"), ("call_back", "wang"), ("archive", "callback"),
    ]  # fmt: skip
    assert ("registered", "wang") in steps
