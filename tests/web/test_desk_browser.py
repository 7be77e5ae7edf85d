"""The agent desk end to end in a real headless Chromium (tests/chromium.py): the simulated
PBX rings the agent's phone, the desk pops the caller's earlier ticket before the agent
answers, the agent registers the call as a repeat added to that earlier ticket (the form and
the attachment survive a closed page through the server-side draft) and the ticket is in the
store; another agent's desk never gets the pop.
A pause with a reason from the desk shows on the wallboard and in queue_log, a call placed
from the call-back list reaches the simulator as an ``Originate``, the supervisor console
shows the claimed call-back and pauses an agent remotely, and a dynamic agent logs in to its
queues from the desk (``QueueAdd`` as the simulator received it) and out again.

Web users are tied to the simulator's phones by the agent table (ticketing.agents), so
whose desk a ringing phone is, and every member action, go the production way.

simulated PBX (hotline.sim, its callers walking the service's real FastAGI IVR) → AMI → the
service (tracker → bus → screen pops) → /ws/desk → the page.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import aiohttp

from hotline.service import HotlineService
from hotline.sim.actions import attach
from hotline.sim.agi_driver import FastAgiDriver
from hotline.sim.ami_server import AmiServer
from hotline.sim.model import CallerScript, QueueConfig
from hotline.sim.traffic import AgentProfile, Simulation, TrafficModel
from hotline.web.auth_accounts import create_token_account
from hotline.web.desk import DESK_CHANNEL
from tests.service.helpers import service_settings
from tests.web.auth_helpers import PASSWORD, add_password_user
from tests.web.conditions import wait_until
from ticketing.agents import AgentDirectory
from ticketing.registrations import CallFacts, Registration

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

SPEED = 10.0
# A working-day morning: the complaint queue is open.
START = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
CALLER = "13812345678"
# Simulated seconds the robot agents let the phone ring before answering (10 s of real time):
# the pop and its history must be on the page before that.
RING_S = 100.0


@dataclass
class Rig:
    service: HotlineService
    sim: Simulation
    server: AmiServer  # what the simulated PBX received: server.actions_seen
    url: str
    li_token: str  # li's desk is a bare WebSocket client


@asynccontextmanager
async def rig(tmp_path: Path, wang_ring_s: float = RING_S) -> AsyncIterator[Rig]:
    agents = [
        # wang's phone (agent1) takes complaints, li's (agent2) the general queue.
        AgentProfile(1, ["hotline-complaint"], ring_min=wang_ring_s, ring_max=wang_ring_s,
                     talk_mean=3000, talk_min=3000, no_answer=0.0),
        AgentProfile(2, ["hotline-general"], ring_min=RING_S, ring_max=RING_S,
                     talk_mean=3000, talk_min=3000, no_answer=0.0),
    ]  # fmt: skip
    model = TrafficModel(
        peak_calls_per_hour=0.0,
        agents=agents,
        queues=[QueueConfig("hotline-general", timeout=600.0),
                QueueConfig("hotline-complaint", timeout=600.0)],
        queue_max_wait=3600,
    )  # fmt: skip
    members = model.pbx_config().members
    async with AmiServer(secret="hotline-secret") as server:
        sim = Simulation(model, seed=3, queue_log_path=tmp_path / "queue_log", start=START)
        pump = attach(sim.pbx, server)
        service = HotlineService(service_settings(tmp_path, server.port), now=lambda: sim.now)
        await service.start(web_enabled=True)
        assert service.link is not None and service.ivr.port is not None
        assert service.web is not None and service.web.app is not None
        await service.link.wait_connected(timeout=10)
        assert service.store is not None and service.agents.desk is not None
        # wang's desk is agent1's phone, li's agent2's: the agent table says so.
        await add_password_user(service.store, "wang", "agent")
        li_token = await create_token_account(service.store, "li", "agent", "李四")
        directory = AgentDirectory(service.store.engine)
        for username, member, extension in (
            ("wang", members[0], "8001"),
            ("li", members[1], "8002"),
        ):
            await directory.set_agent(username, extension=extension, name=member.name,
                                      interface=member.interface,
                                      skills=dict.fromkeys(member.queues, 0))  # fmt: skip
        await service.agents.desk.load()
        driver = FastAgiDriver("127.0.0.1", service.ivr.port, speed=SPEED)
        sim.pbx.ivr_driver = driver
        stop = asyncio.Event()
        runner = asyncio.create_task(sim.run_realtime(SPEED, stop, max_sleep=0.01))
        try:
            yield Rig(service, sim, server, f"http://127.0.0.1:{service.web.port}", li_token)
        finally:
            stop.set()
            await runner
            await driver.close()
            await service.stop()
            await pump.close()
            sim.close()


async def log_in(page: Page, url: str, username: str) -> None:
    await page.goto(url + "/desk")
    await page.wait_for_url(re.compile(r"/login\?next=(/|%2F)desk$"), timeout=10_000)
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(url + "/desk", timeout=10_000)
    await page.wait_for_selector("body[data-link='live']", timeout=10_000)


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("HOTLINE_SCREENSHOT_DIR", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def test_the_desk_pops_registers_and_keeps_its_draft(
    chromium: BrowserContext, tmp_path: Path
) -> None:
    async with rig(tmp_path) as r:
        store = r.service.store
        assert store is not None
        earlier = await store.register_call(
            Registration("earlier-call", "complaint", "楼下夜市噪音 night market noise",
                         "dispatched"),
            "zhao",
            CallFacts(CALLER, "张三", 0),
        )  # fmt: skip
        page = await chromium.new_page()
        await page.set_viewport_size({"width": 1366, "height": 768})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await log_in(page, r.url, "wang")

        async with aiohttp.ClientSession() as session:
            li = await session.ws_connect(
                r.url + "/ws/desk", headers={"Authorization": f"Bearer {r.li_token}"}
            )
            assert (await li.receive_json(timeout=10))["type"] == "hello"

            # The citizen calls about the noise again: 3 = complaint, wang's phone rings.
            r.sim.place_call(CallerScript(CALLER, "张三", dtmf="3", dtmf_delay=0.5))
            ticket_row = f"#pop-tickets tr[data-ticket='{earlier['ticket']}']"
            # Before the answer: the pop is still "ringing" when the earlier ticket shows.
            await page.wait_for_selector(f"body[data-pop='ringing'] {ticket_row}", timeout=30_000)
            assert await page.locator("#pop-number").inner_text() == CALLER
            assert "hotline-complaint" in await page.locator("#pop-queue").inner_text()
            assert "main" in await page.locator("#pop-path").inner_text()
            assert "待派单" in await page.locator(f"{ticket_row} .status").inner_text()
            # The agent's own state came pushed on the desk's socket (no poll while it is up).
            await page.wait_for_selector("#state[data-state='ringing']", timeout=10_000)
            assert await page.locator("#f-category").input_value() == "complaint"
            # The desk fits a 1366-px-wide desk screen: no sideways scrolling.
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 1366, width
            folder = shots(tmp_path)
            await page.screenshot(path=str(folder / "desk-pop.png"))

            # li's phone rings for another caller: li's desk gets that pop, never wang's.
            r.sim.place_call(CallerScript("13900001111", "王五", dtmf="1", dtmf_delay=0.5))
            first = await li.receive_json(timeout=30)
            assert first["type"] == "pop" and first["pop"]["number"] == "13900001111"
            await li.close()

        await page.wait_for_selector("body[data-pop='answered']", timeout=30_000)
        # An empty content is refused field by field, with the error's id.
        await page.click("#ending-answered_directly")
        await page.keyboard.press("Control+Enter")
        await page.wait_for_selector("[data-error-for='content'][data-error-id='input.required']")
        # The agent types; the draft is saved on the server; the browser tab closes.
        await page.fill("#f-district", "玄武区")
        await page.fill("#f-address", "中山路1号")
        await page.fill("#f-content", "夜市噪音仍未解决 still noisy after 22:00")
        await page.check("#f-reply_wanted")
        # The same matter again: the agent adds this call to the caller's earlier ticket (并单)
        # from the pop's history; the attachment is part of the draft too.
        await page.click(f"#pop-tickets button.attach[data-ticket='{earlier['ticket']}']")
        await page.wait_for_selector("#repeat-box:not([hidden])", timeout=5_000)
        await page.wait_for_selector("body[data-draft='saved']", timeout=10_000)
        linkedid = await page.locator("#pop").get_attribute("data-linkedid")
        await page.close()

        page = await chromium.new_page()
        await page.set_viewport_size({"width": 1366, "height": 768})
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(r.url + "/desk")
        await page.wait_for_function(
            "document.querySelector('#f-content').value.startsWith('夜市噪音')", timeout=10_000
        )
        assert await page.locator("#f-address").input_value() == "中山路1号"
        assert await page.is_checked("#f-reply_wanted")
        assert await page.locator("#f-repeat_of").input_value() == earlier["ticket"]
        assert await page.locator("#repeat-box").is_visible()
        await page.screenshot(path=str(folder / "desk-registration.png"))
        await page.keyboard.press("Control+Enter")
        await page.wait_for_selector("#register-result[data-ticket]", timeout=10_000)
        number = await page.locator("#register-result").get_attribute("data-ticket")
        assert earlier["ticket"] in await page.locator("#register-result").inner_text()

    assert number is not None and linkedid
    ticket = await _ticket(tmp_path, number)
    assert ticket["linkedid"] == linkedid and ticket["caller_number"] == CALLER
    assert ticket["content"] == "夜市噪音仍未解决 still noisy after 22:00"
    assert (ticket["district"], ticket["reply_wanted"]) == ("玄武区", True)
    # Added to the earlier ticket (the workflow's merge), not a new case to work.
    assert ticket["ending"] == "merged" and ticket["registered_by"] == "wang"
    assert ticket["status"] == "merged"
    assert errors == []
    assert (folder / "desk-pop.png").stat().st_size > 10_000


async def _ticket(tmp_path: Path, number: str) -> dict[str, Any]:
    from ticketing.store import TicketStore

    store = await TicketStore.open(f"sqlite+aiosqlite:///{tmp_path / 'hotline.sqlite3'}")
    try:
        ticket = await store.ticket(number)
    finally:
        await store.close()
    assert ticket is not None
    return ticket


async def test_a_pause_shows_on_the_wallboard_and_queue_log_and_a_call_back_is_placed(
    chromium: BrowserContext, tmp_path: Path
) -> None:
    # wang's phone answers a call-back at once (2 simulated seconds).
    async with rig(tmp_path, wang_ring_s=2.0) as r:
        errors: list[str] = []
        desk = await chromium.new_page()
        await desk.set_viewport_size({"width": 1366, "height": 768})
        desk.on("pageerror", lambda error: errors.append(str(error)))
        await log_in(desk, r.url, "wang")
        await desk.wait_for_selector("#state[data-state='ready']", timeout=10_000)

        # Pause with a reason from the keyboard (F3), as an agent at a desk would.
        await desk.select_option("#pause-reason", "用餐")
        await desk.locator("body").press("F3")
        await desk.wait_for_selector("#state[data-state='paused'][data-reason='用餐']",
                                     timeout=10_000)  # fmt: skip
        # The wallboard (the same user's session) shows agent1 paused, with the reason.
        board = await chromium.new_page()
        board.on("pageerror", lambda error: errors.append(str(error)))
        await board.goto(r.url + "/")
        chip = board.locator(".agent.paused", has_text="用餐")
        await chip.first.wait_for(timeout=15_000)
        assert "Robot Agent 1" in await chip.first.inner_text()
        # …and queue_log has Asterisk's PAUSE line with the reason, in the complaint queue.
        lines = [line.split("|") for line in (tmp_path / "queue_log").read_text().splitlines()]
        assert ["hotline-complaint", "Robot Agent 1", "PAUSE", "用餐"] in [
            line[2:6] for line in lines
        ]

        # Ready again from the keyboard (F2): the call-back below finds the phone free.
        await desk.locator("body").press("F2")
        await desk.wait_for_selector("#state[data-state='ready']", timeout=10_000)
        # The pause is in the agent's own figures of today, by reason, next to calls, talk
        # time, average handle time and the share answered within 15 s.
        await desk.wait_for_selector("#pause-figures li[data-reason='用餐']", timeout=10_000)
        assert await desk.locator("[data-figure='paused_s']").inner_text() != "—"
        for name in ("calls", "talk_s", "aht_s", "within_15s", "wrap_up_s"):
            assert await desk.locator(f"[data-figure='{name}']").count() == 1, name
        assert await desk.locator("[data-figure='calls']").inner_text() == "0"
        # The desk's own channel comes back by itself when it is cut (a proxy, a restart):
        # the pushes below (the phone going busy) arrive on the new socket.
        assert r.service.web is not None and r.service.web.app is not None
        channel = r.service.web.app[DESK_CHANNEL]
        [cut] = list(channel.desks["wang"])
        await cut.close()
        await wait_until(
            lambda: channel.connected("wang") == 1 and cut not in channel.desks.get("wang", {}),
            10,
            "the desk's new socket",
        )
        await desk.wait_for_selector("body[data-link='live']", timeout=10_000)

        # A caller gives up while li's phone rings (general queue): the call-back list has it.
        caller = "13900002222"
        r.sim.place_call(CallerScript(caller, "赵六", dtmf="1", dtmf_delay=0.5, patience=5.0))
        work = await chromium.new_page()
        await work.set_viewport_size({"width": 1366, "height": 768})
        work.on("pageerror", lambda error: errors.append(str(error)))
        await work.goto(r.url + "/desk/callbacks")
        row = work.locator("tr[data-callback][data-status='open']")
        await row.first.wait_for(timeout=30_000)  # the list refreshes itself every 5 s
        callback_id = await row.first.get_attribute("data-callback")
        assert caller in await row.first.inner_text()  # in full for an agent (caller_mask)
        mine = work.locator(f"tr[data-callback='{callback_id}']")
        await mine.locator("button.claim").click()
        await work.locator(f"tr.mine[data-callback='{callback_id}'] button.call").click()
        await work.wait_for_function(
            "id => document.querySelector(`tr[data-callback='${id}'] .attempts`)"
            "?.textContent === '1'", arg=callback_id, timeout=15_000)  # fmt: skip
        assert await work.locator("#list-error").is_hidden()
        await work.screenshot(path=str(shots(tmp_path) / "desk-callbacks.png"))

        # What the simulated PBX received: an Originate from wang's phone to the citizen.
        originates = [a for a in r.server.actions_seen if a.get("Action") == "Originate"]
        assert len(originates) == 1
        sent = originates[0]
        settings = r.service.settings
        assert (sent.get("Channel"), sent.get("Context"), sent.get("Exten")) == (
            "Local/agent1@agent-robot/n",
            settings.agents.callback_context,
            settings.pbx.outbound_prefix + caller,
        )
        # The desk (its socket up, no poll) hears the phone go busy with the call-back.
        await desk.wait_for_selector("#state[data-state='talking']", timeout=15_000)

        # The supervisor desk (its own session): the call-back claimed by wang, with its
        # attempt; li paused remotely with a reason (the access log keeps who, whom, why).
        store = r.service.store
        assert store is not None
        await add_password_user(store, "boss", "supervisor")
        for page in (desk, board, work):  # their polls would meet the login page below
            await page.close()
        console = await chromium.new_page()
        await console.set_viewport_size({"width": 1366, "height": 768})
        console.on("pageerror", lambda error: errors.append(str(error)))
        await console.context.clear_cookies()  # wang's session off: boss logs in
        await console.goto(r.url + "/supervisor/desk")
        await console.fill("#username", "boss")
        await console.fill("#password", PASSWORD)
        await console.click("button[type=submit]")
        entry = console.locator(f"#callbacks tr[data-callback='{callback_id}']")
        await entry.wait_for(timeout=10_000)
        assert await entry.locator(".claimed-by").inner_text() == "wang"
        # Times in state are on the PBX's (here simulated) clock: never in its future.
        agents = await console.evaluate("fetch('/api/supervisor/agents').then(r => r.json())")
        assert all(a["since"] <= agents["now"] for a in agents["items"]), agents
        assert "placed" in await entry.locator(".results").inner_text()
        await console.select_option("#pause-reason", "会议")
        await console.fill("#why", "班前会 team briefing")
        await console.locator("tr[data-agent='li'] button.pause").click()
        paused = "tr[data-agent='li'][data-state='paused'][data-reason='会议']"
        await console.wait_for_selector(paused, timeout=10_000)
        await console.screenshot(path=str(shots(tmp_path) / "supervisor-desk.png"))
        logged = [e for e in await store.access_log(actor="boss") if e["target"] == "user:li"]
        assert [(e["action"], e["detail"]["reason"]) for e in logged] == [
            ("agent.remote_pause", "会议")
        ]

        # A dynamic agent (no static membership): logs in to its skill queues from the desk
        # (QueueAdd with MemberName, StateInterface and the skill's penalty), then out.
        await add_password_user(store, "zhao", "agent")
        await AgentDirectory(store.engine).set_agent(
            "zhao", extension="8003", name="赵 8003", interface="PJSIP/8003",
            state_interface="Custom:agent8003", skills={"hotline-general": 2},
        )  # fmt: skip
        await console.close()
        await chromium.clear_cookies()
        zhao = await chromium.new_page()
        zhao.on("pageerror", lambda error: errors.append(str(error)))
        await log_in(zhao, r.url, "zhao")
        await zhao.wait_for_selector("#state[data-state='logged_out']", timeout=10_000)
        await zhao.locator("body").press("F2")  # one key: log in to the queues, ready
        await zhao.wait_for_selector("#state[data-state='ready']", timeout=10_000)
        [added] = [a for a in r.server.actions_seen if a.get("Action") == "QueueAdd"]
        assert (added.get("Queue"), added.get("Interface"), added.get("MemberName"),
                added.get("StateInterface"), added.get("Penalty")) == (
            "hotline-general", "PJSIP/8003", "赵 8003", "Custom:agent8003", "2",
        )  # fmt: skip
        await zhao.click("#queue-logout")
        await zhao.wait_for_selector("#state[data-state='logged_out']", timeout=10_000)
        [removed] = [a for a in r.server.actions_seen if a.get("Action") == "QueueRemove"]
        assert (removed.get("Queue"), removed.get("Interface")) == ("hotline-general", "PJSIP/8003")
    assert errors == []
