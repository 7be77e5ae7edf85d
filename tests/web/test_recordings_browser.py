"""Recordings in a real headless Chromium (tests/chromium.py): a supervisor searches, plays a
recording (the player asks for byte ranges, answered 206, and can seek) and the playback is
in the access log; an agent cannot open another agent's recording, the supervisor's console
or a recording URL guessed from its file name. Screenshots are test artifacts."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from hotline.web.app import create_app
from hotline.web.auth_passwords import hash_password
from tests.web.auth_helpers import PASSWORD
from tests.web.fake_live import FakeLive
from tests.web.recording_helpers import WANG_CALLER, Recorded, recorded_store
from ticketing.recordings import RecordingIndex
from ticketing.store import TicketStore

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page, Response


@pytest.fixture
async def served(store: TicketStore, tmp_path: Path) -> AsyncIterator[tuple[str, Recorded]]:
    rec = await recorded_store(store, tmp_path, agents_hear_own=True)
    for username in ("sup", "wang", "qa1", "li"):
        await store.set_password_hash(username, hash_password(PASSWORD))
    app = create_app(FakeLive(), dict, store=store, settings=rec.settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}", rec
    finally:
        await runner.cleanup()


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("HOTLINE_SCREENSHOT_DIR", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def log_in(page: Page, url: str, path: str, username: str) -> None:
    await page.goto(url + path)
    await page.wait_for_url(re.compile(r"/login\?next="), timeout=10_000)
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(url + path, timeout=10_000)


async def test_a_supervisor_plays_with_ranges_and_the_playback_is_audited(
    served: tuple[str, Recorded], chromium: BrowserContext, store: TicketStore, tmp_path: Path
) -> None:
    url, rec = served
    page = await chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    audio_answers: list[Response] = []
    page.on("response", lambda r: audio_answers.append(r) if "/audio" in r.url else None)

    await log_in(page, url, "/recordings", "sup")
    await page.wait_for_selector("body[data-loaded='yes']", timeout=10_000)
    await page.fill("#from", "2026-11-25")
    await page.fill("#to", "2026-11-25")
    await page.fill("#agent", "wang")
    await page.click("#go")
    row = page.locator(f"tr[data-call='{rec.wang_call}']")
    await row.wait_for(timeout=10_000)
    assert await page.locator("#calls tr").count() == 1
    text = await page.locator("#calls").inner_text()
    assert WANG_CALLER in text and "王芳" in text  # a supervisor sees the number in full

    await row.locator("button.play").click()
    # The player has the audio's length and can seek: metadata came through byte ranges.
    await page.wait_for_function(
        "(() => { const a = document.getElementById('audio');"
        " return a.readyState >= 1 && a.duration > 1.9 && a.seekable.length > 0; })()",
        timeout=10_000,
    )
    await page.evaluate("document.getElementById('audio').currentTime = 1.5")
    await page.wait_for_function(
        "(() => { const a = document.getElementById('audio');"
        " return !a.seeking && a.currentTime >= 1.4; })()",
        timeout=10_000,
    )
    ranged = [
        answer
        for answer in audio_answers
        if answer.request.headers.get("range") and answer.status == 206
    ]
    assert ranged, [(a.status, a.request.headers.get("range")) for a in audio_answers]
    assert ranged[0].headers["content-range"].startswith("bytes 0-")
    assert ranged[0].url == f"{url}/api/recordings/calls/{rec.wang_call}/audio"
    await page.screenshot(path=str(shots(tmp_path) / "recordings-console.png"), full_page=True)

    plays = [e for e in await store.access_log(actor="sup") if e["action"] == "recording.play"]
    assert plays, "the playback is not in the access log"
    # A case's page links its call's recording by ticket number: found without typing.
    ticket = (await row.locator("td").nth(6).inner_text()).strip()
    await page.goto(f"{url}/cases?case={ticket}")
    link = page.locator(f"#case[data-number='{ticket}'] a#case-recording")
    await link.wait_for(timeout=10_000)
    await link.click()
    await page.wait_for_url(re.compile(r"/recordings\?ticket="), timeout=10_000)
    await page.locator(f"tr[data-call='{rec.wang_call}']").wait_for(timeout=10_000)
    assert await page.locator("#calls tr").count() == 1
    assert {e["target"] for e in plays} == {f"call:{rec.wang_call}"}
    assert any(e["detail"]["range"] for e in plays)
    assert errors == []


async def test_an_agent_cannot_reach_other_recordings_or_the_console(
    served: tuple[str, Recorded], chromium: BrowserContext, store: TicketStore, tmp_path: Path
) -> None:
    url, rec = served
    page = await chromium.new_page()
    await log_in(page, url, "/desk", "wang")

    # The setting allows agents their own calls: wang's plays, li's does not.
    own = await page.goto(f"{url}/api/recordings/calls/{rec.wang_call}/audio")
    assert own is not None and own.status == 200
    # li's call answers like a call that does not exist (existence does not leak).
    other = await page.goto(f"{url}/api/recordings/calls/{rec.li_call}/audio")
    assert other is not None and other.status == 404
    other_body = await other.body()
    missing = await page.goto(f"{url}/api/recordings/calls/99999/audio")
    assert missing is not None and missing.status == 404
    assert other_body == await missing.body()
    console = await page.goto(f"{url}/recordings")
    assert console is not None and console.status == 403
    # The case page gives an agent no recording link (role-checked, like the route).
    own_call = await RecordingIndex(store.engine).call(rec.wang_call)
    assert own_call is not None and own_call["ticket"]
    await page.goto(f"{url}/cases?case={own_call['ticket']}")
    await page.wait_for_selector("body[data-ready='1']", timeout=10_000)
    assert await page.locator("#case-recording").count() == 0
    await page.screenshot(path=str(shots(tmp_path) / "recordings-agent-refused.png"))
    search = await page.goto(f"{url}/api/recordings?from=2026-11-25&to=2026-11-25")
    assert search is not None and search.status == 403
    name = "hotline-1795445520.1.wav"  # li's call, named as the dialplan names it
    for guess in (f"/static/{name}", f"/recordings/{name}", f"/api/recordings/{name}",
                  f"/api/recordings/calls/{name}/audio", f"/monitor/{name}"):  # fmt: skip
        answer = await page.goto(url + guess)
        assert answer is not None and answer.status in (400, 403, 404), guess
        assert b"RIFF" not in await answer.body(), guess
    log = await store.access_log(actor="wang")
    refused = [e for e in log if e["action"] == "recording.refused"]
    assert [e["target"] for e in refused] == [f"call:{rec.li_call}"]
    plays = [e for e in log if e["action"] == "recording.play"]
    assert {e["target"] for e in plays} == {f"call:{rec.wang_call}"}


async def test_qa_scores_a_sampled_call_on_the_page_and_the_agent_sees_it(
    served: tuple[str, Recorded], chromium: BrowserContext, store: TicketStore, tmp_path: Path
) -> None:
    url, rec = served
    page = await chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await log_in(page, url, "/qa", "qa1")
    await page.wait_for_selector("body[data-loaded='yes']", timeout=10_000)
    await page.fill("#month", "2026-11")
    await page.dispatch_event("#month", "change")
    button = page.locator(f"button.score[data-call='{rec.wang_call}']")
    await button.wait_for(timeout=10_000)
    await button.click()
    await page.wait_for_selector("#scoring:not([hidden])", timeout=5_000)
    # Marked down on accuracy (with why) and a broken "不知道" check.
    await page.fill("#points-accuracy", "24")
    await page.fill("#comment-accuracy", "政策解释不完整")
    await page.check("#points-dont_know")
    await page.fill("#comment-dont_know", "说了“不知道”")
    await page.dispatch_event("#points-accuracy", "input")
    assert await page.locator("#total").inner_text() == "84"
    await page.screenshot(path=str(shots(tmp_path) / "qa-scoring.png"), full_page=True)
    await page.click("#save")
    await page.wait_for_selector("#scoring[hidden]", state="attached", timeout=10_000)
    await page.wait_for_selector("tr[data-agent='wang'] .month-score", timeout=10_000)
    assert await page.locator("tr[data-agent='wang'] .month-score").inner_text() == "84.0"
    assert errors == []

    # wang, an agent, sees the score and why on the same page.
    await chromium.clear_cookies()
    mine = await chromium.new_page()
    await log_in(mine, url, "/qa", "wang")
    await mine.fill("#month", "2026-11")
    await mine.dispatch_event("#month", "change")
    row = mine.locator(f"#my-scores tr[data-call='{rec.wang_call}']")
    await row.wait_for(timeout=10_000)
    assert "政策解释不完整" in await row.inner_text()
    assert "84" in await mine.locator("#my-score").inner_text()
    # recordings.agents_hear_own is on here: the agent can play the scored call.
    await row.locator("audio").wait_for(state="attached", timeout=5_000)
    await mine.screenshot(path=str(shots(tmp_path) / "qa-agent-own-scores.png"), full_page=True)


async def test_a_supervisor_blocks_and_unblocks_a_number_on_the_page(
    served: tuple[str, Recorded], chromium: BrowserContext, store: TicketStore, tmp_path: Path
) -> None:
    url, _ = served
    page = await chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await log_in(page, url, "/blocklist", "sup")
    await page.wait_for_selector("body[data-loaded='yes']", timeout=10_000)
    await page.fill("#number", "+86 139 0013 9000")
    await page.fill("#reason", "一天内骚扰来电40次")
    await page.fill("#days", "7")
    await page.click("#block")
    row = page.locator("#entries tr.active")
    await row.wait_for(timeout=10_000)
    assert "13900139000" in await row.inner_text()
    await page.screenshot(path=str(shots(tmp_path) / "blocklist.png"), full_page=True)
    page.once("dialog", lambda dialog: dialog.accept("误判"))
    await row.locator("button.remove").click()
    await page.wait_for_selector("#entries td.empty", timeout=10_000)
    await page.check("#history")
    removed = page.locator("#entries tr.inactive")
    await removed.wait_for(timeout=10_000)
    assert "误判" in await removed.inner_text()
    actions = [e["action"] for e in await store.access_log(actor="sup")]
    assert actions[:2] == ["blocklist.remove", "blocklist.add"]
    assert errors == []
