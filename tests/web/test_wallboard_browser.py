"""The wall screen in a real headless Chromium (tests/chromium.py), fed over the WebSocket:
it renders live, fits a 1920×1080 kiosk with 100 agents and 10 queues, shows only display
names, never says "live" when it is not (a dead AMI link on the real service with the
simulated PBX, a dead web server), and logs out. Screenshots: $HOTLINE_SCREENSHOT_DIR."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from hotline.service import HotlineService
from hotline.settings import Settings, WallboardSettings
from hotline.sim.ami_server import AmiServer
from hotline.web.app import PUSHER, create_app
from hotline.web.auth_accounts import create_kiosk
from tests.service.helpers import answer_as_idle_pbx, service_settings
from tests.service.spy_rig import SUPERVISOR_PHONE, spy_rig, tie_supervisor_phone
from tests.web.auth_helpers import PASSWORD, add_password_user
from tests.web.conditions import wait_until
from tests.web.fake_live import CALLER, MASKED, FakeLive
from ticketing.store import TicketStore

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

KIOSK = {"width": 1920, "height": 1080}


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("HOTLINE_SCREENSHOT_DIR", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def serve(app: web.Application) -> tuple[str, web.AppRunner]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return f"http://{host}:{port}", runner


@pytest.fixture
async def served(store: TicketStore) -> AsyncIterator[tuple[str, FakeLive, web.AppRunner]]:
    live = FakeLive()
    await add_password_user(store, "wang", "supervisor")
    # A short staleness limit: a dead server shows within a couple of seconds.
    settings = Settings(wallboard=WallboardSettings(stale_after_s=2.0))
    app = create_app(
        live, lambda: {"ami": {"ok": True}}, push_interval=0.1, store=store, settings=settings
    )
    url, runner = await serve(app)
    try:
        yield url, live, runner
    finally:
        await runner.cleanup()


async def log_in(page: Page, url: str, username: str = "wang") -> None:
    # Not logged in: the wallboard sends the browser to the login page, which brings it back.
    await page.goto(url + "/")
    await page.wait_for_url(re.compile(r"/login\?next=(/|%2F)$"), timeout=10_000)
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(url + "/", timeout=10_000)


async def test_wallboard_renders_live_in_chromium(
    served: tuple[str, FakeLive, web.AppRunner], chromium: BrowserContext, tmp_path: Path
) -> None:
    url, live, runner = served
    page = await chromium.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console_errors.append(str(e)))
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    await log_in(page, url)
    # Rendered from the WebSocket push, not from a poll.
    await page.wait_for_selector("body[data-source='ws'][data-live='true']", timeout=10_000)
    names = await page.locator(".queue-name").all_inner_texts()
    assert names == ["综合咨询", "投诉", "举报"]  # the default queues' display names
    timeliness = page.locator("[data-tile='answer_timeliness']")
    assert "15秒接通率" in await timeliness.inner_text()
    assert await timeliness.locator(".value").inner_text() == "92.7 %"
    assert "ok" in (await timeliness.get_attribute("class") or "")
    assert "red" in (await page.locator("[data-tile='connect_rate']").get_attribute("class") or "")
    assert await page.locator("#link").inner_text() == "实时 live"
    assert await page.locator("#banner").is_hidden()
    # One agent board, each agent once, by display name; a paused one shows its reason.
    agents = await page.locator(".agent .name").all_inner_texts()
    assert sorted(agents) == sorted(["王芳", "李强", "赵敏", "座席 10"])
    assert "用餐" in await page.locator(".agent[data-agent='赵敏']").inner_text()
    text = await page.locator("body").inner_text()
    for raw in ("hotline-general", "hotline-complaint", "Local/", "PJSIP/", CALLER):
        assert raw not in text
    assert MASKED not in text  # the wall shows no callers at all

    # The figures change in the live view: the page follows without reloading.
    live.answered = 49
    live.offered = 50
    await page.wait_for_function(
        "document.querySelector(\"[data-tile='connect_rate'] .value\").textContent === '98.0 %'",
        timeout=5_000,
    )
    assert "ok" in (await page.locator("[data-tile='connect_rate']").get_attribute("class") or "")
    # The board reconnects by itself: its socket cut by the server, a new one comes and the
    # figures follow on it again.
    pusher = runner.app[PUSHER]
    [first] = list(pusher.clients)
    await first.close()
    await wait_until(
        lambda: len(pusher.clients) == 1 and first not in pusher.clients, 10, "a new socket"
    )
    live.answered = 48
    await page.wait_for_function(
        "document.querySelector(\"[data-tile='connect_rate'] .value\").textContent === '96.0 %'",
        timeout=5_000,
    )
    await page.wait_for_selector("body[data-source='ws'][data-live='true']", timeout=5_000)
    await page.screenshot(path=str(shots(tmp_path) / "wallboard.png"))
    assert console_errors == []
    assert all(u.startswith(url) or u.startswith("ws://127.0.0.1") for u in requested), requested

    # The server dies: no push, no poll answers; within stale_after_s the wall says so.
    await runner.cleanup()
    await page.wait_for_selector("body[data-live='false'] #banner:not([hidden])", timeout=10_000)
    assert "未更新" in await page.locator("#banner").inner_text()
    assert await page.locator("#link").inner_text() != "实时 live"


async def test_logout_button_ends_the_session_and_closes_the_socket(
    served: tuple[str, FakeLive, web.AppRunner], chromium: BrowserContext
) -> None:
    url, _, runner = served
    page = await chromium.new_page()
    await log_in(page, url)
    await page.wait_for_selector("body[data-source='ws']", timeout=10_000)
    await page.wait_for_selector("#logout-form:not([hidden])", timeout=5_000)
    pusher = runner.app[PUSHER]
    assert len(pusher.clients) == 1
    await page.click("#logout")
    await page.wait_for_url(re.compile(r"/login"), timeout=10_000)
    await wait_until(lambda: not pusher.clients, what="the wallboard socket closed")
    # The old session is gone: the wallboard asks for a login again.
    await page.goto(url + "/")
    await page.wait_for_url(re.compile(r"/login\?next="), timeout=10_000)


async def test_kiosk_fits_1920x1080_with_100_agents_and_10_queues(
    served: tuple[str, FakeLive, web.AppRunner],
    chromium: BrowserContext,
    store: TicketStore,
    tmp_path: Path,
) -> None:
    url, live, _ = served
    live.crowd(agents=100, queues=10)
    page = await chromium.new_page()
    await page.set_viewport_size(KIOSK)
    token = await create_kiosk(store, "hall screen")
    await page.goto(f"{url}/kiosk?token={token}")
    await page.wait_for_url(url + "/", timeout=10_000)
    await page.wait_for_selector("body[data-live='true']", timeout=10_000)
    await page.wait_for_function("document.querySelectorAll('.agent').length === 100")
    size = await page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    assert size[0] <= KIOSK["width"] and size[1] <= KIOSK["height"], size
    # Every agent once, each tile wholly on the screen (nothing clipped away by a panel).
    names = await page.locator(".agent .name").all_inner_texts()
    assert len(names) == len(set(names)) == 100
    boxes = await page.eval_on_selector_all(
        ".agent, table.queues tr, .tile, #trend canvas",
        "nodes => nodes.map(n => { const r = n.getBoundingClientRect();"
        " return [r.right, r.bottom, r.width, r.height]; })",
    )
    assert all(
        right <= KIOSK["width"] and bottom <= KIOSK["height"] and w > 0 and h > 0
        for right, bottom, w, h in boxes
    ), boxes
    assert await page.locator("table.queues tbody tr").count() == 10
    assert await page.locator("#trend canvas").count() >= 1  # the uPlot chart, served locally
    # Colours from the thresholds: a 700-s pause is amber or worse, queue waits coloured.
    assert await page.locator(".agent.paused.amber, .agent.paused.red").count() > 0
    assert await page.locator("table.queues td.amber, table.queues td.red").count() > 0
    text = await page.locator("body").inner_text()
    assert "hotline-q" not in text and "PJSIP/" not in text
    # Not in the DOM either (attributes, titles, hidden nodes): the JSON carries the agent's
    # pbx|interface only as the spy buttons' key, and the page never writes it anywhere.
    html = await page.evaluate("document.documentElement.outerHTML")
    for raw in ("hotline-", "PJSIP/", "Local/", "pbx1|"):
        assert raw not in html, raw
    # Ringing agents have their own column, never counted as talking (crowd: 1 in 6 rings,
    # each agent in two queues).
    headers = await page.locator("table.queues thead th").all_inner_texts()
    ringing = [h.split()[0] for h in headers].index("振铃")
    counts = await page.eval_on_selector_all(
        "table.queues tbody tr", f"rows => rows.map(r => Number(r.cells[{ringing}].textContent))"
    )
    assert sum(counts) == 2 * sum(1 for n in range(100) if n % 6 == 3)
    await page.screenshot(path=str(shots(tmp_path) / "wallboard-kiosk-1920x1080.png"))


async def test_wallboard_falls_back_to_polling_without_websocket(
    served: tuple[str, FakeLive, web.AppRunner], chromium: BrowserContext, store: TicketStore
) -> None:
    url, _, _ = served
    page = await chromium.new_page()
    # As behind a proxy that refuses WebSocket upgrades.
    await page.add_init_script("delete window.WebSocket;")
    # A wall screen: the kiosk link logs it in and shows the wallboard.
    token = await create_kiosk(store, "hall screen")
    await page.goto(f"{url}/kiosk?token={token}")
    await page.wait_for_url(url + "/", timeout=10_000)
    await page.wait_for_selector("body[data-source='poll'][data-live='true']", timeout=10_000)
    assert await page.locator(".queue-name").count() == 3


async def test_banner_follows_the_real_ami_link(chromium: BrowserContext, tmp_path: Path) -> None:
    """The service on the simulated PBX: the banner comes within seconds of the AMI link
    dropping (and staying down: the PBX refuses the login) and goes when it is back."""
    async with AmiServer(secret="hotline-secret") as server:
        answer_as_idle_pbx(server)
        service = HotlineService(service_settings(tmp_path, server.port))
        await service.start(web_enabled=True)
        try:
            assert service.link is not None and service.store is not None
            assert service.web is not None
            await service.link.wait_connected(timeout=10)
            await add_password_user(service.store, "wang", "supervisor")
            url = f"http://127.0.0.1:{service.web.port}"
            page = await chromium.new_page()
            await page.set_viewport_size(KIOSK)
            await log_in(page, url)
            await page.wait_for_selector("body[data-live='true']", timeout=10_000)
            assert await page.locator("#banner").is_hidden()

            server.secret = "changed"  # a restarted Asterisk with another manager.conf
            server.drop_clients()
            await page.wait_for_selector(
                "body[data-live='false'] #banner:not([hidden])", timeout=10_000
            )
            banner = await page.locator("#banner").inner_text()
            assert "AMI" in banner and "实时" in banner
            assert await page.locator("#link").inner_text() == "过期 stale"
            await page.screenshot(path=str(shots(tmp_path) / "wallboard-ami-down.png"))

            server.secret = "hotline-secret"
            await page.wait_for_selector(
                "body[data-live='true'] #banner[hidden]", state="attached", timeout=15_000
            )
            assert await page.locator("#link").inner_text() == "实时 live"
        finally:
            await service.stop()


async def test_supervisor_starts_listen_on_a_talking_agent(
    chromium: BrowserContext, tmp_path: Path
) -> None:
    """The wall screen, signed in as a supervisor tied to a phone: the talking agent's tile
    has listen / whisper / barge; a click on 监听 makes the simulated PBX receive the
    Originate of the supervisor's phone into ChanSpy (q: silent) on the agent's channel."""
    async with spy_rig(tmp_path) as r:
        assert r.service.store is not None
        await add_password_user(r.service.store, "wang", "supervisor")
        await tie_supervisor_phone(r.service, "wang")
        call = await r.call_answered(talk_s=120.0)
        page = await chromium.new_page()
        await page.set_viewport_size(KIOSK)
        await log_in(page, r.url)
        listen = page.locator(".agent.talking button[data-spy='listen']")
        await listen.wait_for(timeout=10_000)
        await listen.click()
        await page.wait_for_selector("body[data-spy='listen']", timeout=10_000)
        await wait_until(lambda: len(r.originates) == 1, what="the Originate at the PBX")
        (originate,) = r.originates
        assert originate["Channel"] == SUPERVISOR_PHONE
        assert originate["Application"] == "ChanSpy"
        assert originate["Data"] == f"{call['agent_channel']},qEd"
        spy = r.service.agents.spies["pbx1"]
        await wait_until(lambda: any(s["spying"] for s in spy.active("wang")), within=10)
        assert "监听" in await page.locator("#spy-note").inner_text()
        await page.screenshot(path=str(shots(tmp_path) / "wallboard-listen.png"))
        # 结束 (stop) hangs the supervisor's phone up: ChanSpyStop ends the session.
        await page.click("#spy-stop")
        await wait_until(lambda: not spy.active("wang"), within=10, what="the spy call ended")
        await page.wait_for_selector("#spy-stop[hidden]", state="attached", timeout=5_000)
