"""A case's whole lifecycle in a real headless Chromium (tests/chromium.py), on the case
console (/cases), each person in their own role: the agent registers and dispatches, the unit
signs and asks for an extension, the supervisor approves it, the unit answers, the call-back
finds the citizen dissatisfied, the case is redone and answered again, the second call-back
is satisfied and the case archived — every step in the case's history with its actor, the
deadline shown in Chinese working days. Screenshots are kept (HOTLINE_SCREENSHOT_DIR)."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from hotline.settings import Settings
from hotline.web.app import create_app
from hotline.web.auth_passwords import hash_password
from tests.web.auth_helpers import PASSWORD, add_password_user
from tests.web.fake_live import FakeLive
from ticketing.store import TicketStore
from ticketing.workflow.deadlines import deadline_view

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

UNIT = "住建局"


@pytest.fixture
async def served(store: TicketStore, tmp_path: Path) -> AsyncIterator[str]:
    await store.add_unit("城建集团")
    await store.add_unit(UNIT, parent="城建集团")
    await add_password_user(store, "li", "agent")
    await add_password_user(store, "zhao", "supervisor")
    await store.add_user("wang", "王 住建局", "unit", hash_password(PASSWORD), UNIT)
    settings = Settings.model_validate({"cases": {"attachments_dir": str(tmp_path / "files")}})
    app = create_app(FakeLive(), lambda: {}, store=store, settings=settings)
    runner = web.AppRunner(app)
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


async def log_in(page: Page, url: str, username: str) -> None:
    """Log out whoever is signed in, then sign in as ``username`` on the case console."""
    if await page.locator("#logout-form").count():
        await page.click("#logout-form button[type=submit]")
        await page.wait_for_url(re.compile(r"/login"), timeout=10_000)
    await page.goto(url + "/cases")
    await page.wait_for_url(re.compile(r"/login\?next=(/|%2F)cases$"), timeout=10_000)
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(url + "/cases", timeout=10_000)
    await page.wait_for_selector("body[data-ready='1']", timeout=10_000)


async def open_from(page: Page, tab: str, number: str) -> None:
    await page.click(f"#tab-{tab}")
    await page.wait_for_selector(f"body[data-tab='{tab}'][data-list='ready']", timeout=10_000)
    await page.click(f"#cases tr[data-number='{number}']")
    await page.wait_for_selector(f"#case[data-number='{number}']", timeout=10_000)


async def do(page: Page, action: str, status: str, **fields: str) -> None:
    """Press the action's button, fill its form (built from the workflow table), submit, and
    wait for the case to be in ``status``."""
    await page.click(f"#actions button[data-action='{action}']")
    await page.wait_for_selector(f"#action-form[data-action='{action}']:not([hidden])")
    for name, value in fields.items():
        target = f"#action-fields #f-{name}"
        if await page.locator(f"#action-fields select#f-{name}").count():
            await page.select_option(target, value)
        else:
            await page.fill(target, value)
    await page.click("#action-submit")
    await page.wait_for_selector(f"body[data-done='{action}:{status}']", timeout=10_000)
    await page.wait_for_selector(f"#case[data-status='{status}']", timeout=10_000)


async def test_a_case_from_registration_to_archive_in_chromium(
    served: str, chromium: BrowserContext, store: TicketStore, tmp_path: Path
) -> None:
    url = served
    folder = shots(tmp_path)
    page = await chromium.new_page()
    await page.set_viewport_size({"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # The agent registers a letter's matter and dispatches it.
    await log_in(page, url, "li")
    await page.click("#tab-new")
    await page.select_option("#n-category", "help")
    await page.fill("#n-caller_number", "13812345678")
    await page.fill("#n-address", "中山路1号")
    await page.fill("#n-subject", "小区井盖缺失")
    await page.fill("#n-content", "中山路1号小区门口井盖缺失，夜间危险")
    await page.click("#n-submit")
    await page.wait_for_selector("body[data-done^='register:']", timeout=10_000)
    number = await page.locator("#case").get_attribute("data-number")
    assert number is not None
    await do(page, "dispatch", "dispatched", unit=UNIT, reason="属地管理")
    await page.screenshot(path=str(folder / "case-1-dispatched.png"))

    # The unit finds it in its inbox with its deadline in working days, signs, asks for time.
    await log_in(page, url, "wang")
    await open_from(page, "inbox", number)
    case = await store.case_by_number(number)
    expected = deadline_view(store.timers.time, datetime.fromisoformat(case["due_at"]),
                             datetime.now(UTC))  # fmt: skip
    deadline = await page.locator("#case-deadline").inner_text()
    assert f"剩余 {expected['working_days_left']} 个工作日" in deadline
    assert expected["due_local"][:16].replace("T", " ") in deadline  # 17:00, close of business
    # The unit sees the caller masked, and where the matter is.
    facts = await page.locator("#case-facts").inner_text()
    assert "138****5678" in facts and "中山路1号" in facts
    assert await page.locator("#new-case").is_hidden()
    await do(page, "sign", "signed")
    await do(page, "request_extension", "extension_requested", reason="需专业队伍施工", days="2")
    await page.screenshot(path=str(folder / "case-2-unit-inbox.png"))

    # The supervisor approves the extension: the deadline moves by two working days.
    await log_in(page, url, "zhao")
    await open_from(page, "approvals", number)
    await do(page, "approve_extension", "in_progress", reason="同意")
    moved = await store.case_by_number(number)
    assert moved["due_at"] > case["due_at"] and moved["extensions"] == 1
    # The supervisor shortens complaints to 4 working days (期限规则), with a reason.
    await page.click("#tab-policy")
    await page.wait_for_selector("body[data-tab='policy'][data-list='ready']")
    assert await page.locator("#p-limit-help").input_value() == "5wd"
    await page.fill("#p-limit-complaint", "4wd")
    await page.fill("#p-reason", "市政府通知 2026-12")
    await page.click("#p-save")
    await page.wait_for_selector("body[data-done='policy:saved']", timeout=10_000)
    await page.screenshot(path=str(folder / "case-policy.png"))
    policy = await store.case_policy()
    assert policy["policy"]["limits"]["complaint"] == "4wd"
    assert policy["policy"]["limits"]["help"] == "5wd"
    assert policy["history"][0]["actor"] == "zhao"

    # The unit answers, with an attachment by reference.
    await log_in(page, url, "wang")
    await open_from(page, "inbox", number)
    # The answer carries a photo uploaded from the page (附件): its reference in the history.
    await page.click("#actions button[data-action='answer']")
    photo = tmp_path / "井盖.png"
    photo.write_bytes(b"\x89PNG a photo of the new cover")
    await page.set_input_files("#f-attachments-files", str(photo))
    await page.wait_for_selector("body[data-upload='done']", timeout=10_000)
    await page.fill("#f-answer", "已补装井盖")
    await page.click("#action-submit")
    await page.wait_for_selector("#case[data-status='answered']", timeout=10_000)
    link = page.locator("#history li[data-kind='answer'] a.attachment")
    href = await link.get_attribute("href")
    assert href is not None and (tmp_path / "files" / href.rsplit("/", 1)[1]).is_file()

    # The call-back finds the citizen dissatisfied: redone by the same unit.
    await log_in(page, url, "li")
    await open_from(page, "callbacks", number)
    await do(page, "call_back", "redo", satisfaction="dissatisfied",
             process_satisfaction="basically_satisfied")  # fmt: skip
    await log_in(page, url, "wang")
    await open_from(page, "inbox", number)
    await do(page, "answer", "answered", answer="已加固井盖并设警示")

    # Satisfied at the second call-back: archived.
    await log_in(page, url, "li")
    await open_from(page, "callbacks", number)
    await do(page, "call_back", "archived", satisfaction="satisfied")
    history = page.locator("#history li")
    await page.screenshot(path=str(folder / "case-3-archived.png"), full_page=True)
    steps = [
        (await history.nth(i).get_attribute("data-kind"),
         await history.nth(i).get_attribute("data-actor"))
        for i in range(await history.count())
    ]  # fmt: skip
    assert steps == [
        ("created", "li"), ("dispatch", "li"), ("sign", "wang"),
        ("request_extension", "wang"), ("approve_extension", "zhao"), ("answer", "wang"),
        ("call_back", "li"), ("redo", "callback"), ("answer", "wang"),
        ("call_back", "li"), ("archive", "callback"),
    ]  # fmt: skip
    # The supervisor's figures: the unit's redo rate, the satisfaction with its formula.
    await log_in(page, url, "zhao")
    await page.click("#tab-kpis")
    await page.wait_for_selector("body[data-kpis='shown']", timeout=10_000)
    row = await page.locator(f"#k-units tr[data-unit='{UNIT}']").inner_text()
    assert "50.0 %" in row  # redo rate: 1 redo ÷ 2 answers
    assert "满意率 50.0 %" in await page.locator("#k-totals").inner_text()
    await page.screenshot(path=str(folder / "case-kpis.png"))
    assert errors == []
    assert (folder / "case-2-unit-inbox.png").stat().st_size > 10_000


async def test_a_repeat_about_the_same_place_is_offered_a_merge_in_chromium(
    served: str, chromium: BrowserContext, store: TicketStore, tmp_path: Path
) -> None:
    """Two callers register the same matter at the desk within 30 days, both "to be
    dispatched": the dispatcher sees the earlier case offered and merges (并单)."""
    from ticketing.registrations import CallFacts, Registration

    first = await store.register_call(
        Registration("call-a", "complaint", "夜市噪音", "dispatched", address="中山路1号"),
        "li", CallFacts("13800000001", "张三", 0),
    )  # fmt: skip
    second = await store.register_call(
        Registration("call-b", "complaint", "夜市太吵", "dispatched", address="中山路1号"),
        "li", CallFacts("13900000002", "李四", 0),
    )  # fmt: skip
    page = await chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await log_in(page, served, "zhao")
    await open_from(page, "dispatch", second["ticket"])
    offered = f"#similar-list li[data-number='{first['ticket']}']"
    await page.wait_for_selector(f"#similar:not([hidden]) {offered}", timeout=10_000)
    assert "同一地点" in await page.locator(offered).inner_text()
    await page.screenshot(path=str(shots(tmp_path) / "case-merge-offered.png"))
    await page.click(f"{offered} button[data-merge]")
    assert await page.locator("#f-into").input_value() == first["ticket"]
    await page.click("#action-submit")
    await page.wait_for_selector("#case[data-status='merged']", timeout=10_000)
    history = await store.ticket_events_for(first["ticket"])
    assert history[-1]["kind"] == "merged" and history[-1]["data"]["case"] == second["ticket"]
    assert errors == []
