"""The wallboard in a real headless Chromium (tests/chromium.py), fed over the WebSocket."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from hotline.web.app import create_app
from hotline.web.auth_accounts import create_kiosk
from tests.web.auth_helpers import PASSWORD, add_password_user
from tests.web.fake_live import CALLER, MASKED, FakeLive
from ticketing.store import TicketStore

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext


@pytest.fixture
async def served(store: TicketStore) -> AsyncIterator[tuple[str, FakeLive]]:
    live = FakeLive()
    await add_password_user(store, "wang", "supervisor")
    app = create_app(live, lambda: {"ami": {"ok": True}}, push_interval=0.1, store=store)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}", live
    finally:
        await runner.cleanup()


async def test_wallboard_renders_live_in_chromium(
    served: tuple[str, FakeLive], chromium: BrowserContext, tmp_path: Path
) -> None:
    url, live = served
    page = await chromium.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console_errors.append(str(e)))
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))

    # Not logged in: the wallboard sends the browser to the login page, which brings it back.
    await page.goto(url + "/")
    await page.wait_for_url(re.compile(r"/login\?next=(/|%2F)$"), timeout=10_000)
    assert "用户名" in await page.locator("form").inner_text()
    await page.fill("#username", "wang")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(url + "/", timeout=10_000)
    # Rendered from the WebSocket push, not from a poll.
    await page.wait_for_selector("body[data-source='ws']", timeout=10_000)
    await page.wait_for_selector("[data-queue='consult'] .queue-name", timeout=5_000)
    names = await page.locator(".queue-name").all_inner_texts()
    assert names == ["咨询 consultation", "投诉 complaints"]
    timeliness = page.locator("[data-kpi='answer_timeliness']")
    assert "15秒接通率" in await timeliness.inner_text()
    assert await timeliness.locator(".value").inner_text() == "92.7 %"
    assert "good" in (await timeliness.get_attribute("class") or "")
    assert "bad" in (await page.locator("[data-kpi='connect_rate']").get_attribute("class") or "")
    assert await page.locator("#link").inner_text() == "实时 live"
    text = await page.locator("body").inner_text()
    assert MASKED in text and CALLER not in text

    # The figures change in the live view: the page follows without reloading.
    live.answered = 49
    live.offered = 50
    connect = page.locator("[data-kpi='connect_rate'] .value")
    await page.wait_for_function(
        "document.querySelector(\"[data-kpi='connect_rate'] .value\").textContent === '98.0 %'",
        timeout=5_000,
    )
    assert await connect.inner_text() == "98.0 %"
    assert "good" in (await page.locator("[data-kpi='connect_rate']").get_attribute("class") or "")

    shot = Path(os.environ.get("HOTLINE_SCREENSHOT_DIR", tmp_path)) / "wallboard.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert console_errors == []
    assert all(u.startswith(url) or u.startswith("ws://127.0.0.1") for u in requested), requested


async def test_wallboard_falls_back_to_polling_without_websocket(
    served: tuple[str, FakeLive], chromium: BrowserContext, store: TicketStore
) -> None:
    url, _ = served
    page = await chromium.new_page()
    # As behind a proxy that refuses WebSocket upgrades.
    await page.add_init_script("delete window.WebSocket;")
    # A wall screen: the kiosk link logs it in and shows the wallboard.
    token = await create_kiosk(store, "hall screen")
    await page.goto(f"{url}/kiosk?token={token}")
    await page.wait_for_url(url + "/", timeout=10_000)
    await page.wait_for_selector("body[data-source='poll']", timeout=10_000)
    assert await page.locator("#link").inner_text() == "轮询 polling"
    assert await page.locator(".queue-name").count() == 2
