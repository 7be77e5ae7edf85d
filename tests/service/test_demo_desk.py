"""`hotline demo` makes a desk agent of every simulated phone: a person running the demo logs
in to /desk with the printed password (demo.agent_password from the environment here) and
gets that phone's screen pops, on the real service and the simulated PBX."""

from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hotline.commands.demo import run_demo
from ticketing.agents import AgentDirectory
from ticketing.store import TicketStore

PASSWORD = "demo-desk-password-for-tests"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _sit_at_the_desk(base: str, username: str) -> dict[str, Any]:
    """Log in like the login form does, open /ws/desk, return the first pop."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        while True:  # the demo's web app is starting
            try:
                async with http.get(f"{base}/login?next=/desk") as page:
                    html = await page.text()
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        csrf = re.search(r'name="csrf" value="([^"]+)"', html)
        assert csrf is not None
        form = {"username": username, "password": PASSWORD, "csrf": csrf.group(1),
                "next": "/desk"}  # fmt: skip
        async with http.post(f"{base}/login", data=form, allow_redirects=False) as answer:
            assert answer.status == 303, await answer.text()
        async with http.get(f"{base}/api/agent/state") as state:
            assert state.status == 200, await state.text()
            assert (await state.json())["username"] == username
        async with http.ws_connect(f"{base}/ws/desk") as ws:
            while True:
                message = await ws.receive_json(timeout=60)
                if message["type"] == "pop":
                    return dict(message["pop"])


async def test_a_demo_desk_agent_logs_in_and_gets_its_phones_pops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOTLINE_DEMO__AGENT_PASSWORD", PASSWORD)
    port = _free_port()
    demo = asyncio.create_task(
        run_demo(duration=10, calls_per_hour=900, agents=3, seed=7, port=port,
                 workdir=tmp_path / "demo", console=None)
    )  # fmt: skip
    # agent1's phone is on every queue: it rings within the demo's first simulated minutes.
    pop = await asyncio.wait_for(_sit_at_the_desk(f"http://127.0.0.1:{port}", "agent1"), 60)
    assert pop["interface"] == "Local/agent1@agent-robot/n" and pop["pbx"] == "pbx1"
    assert pop["number"] and pop["state"] in ("ringing", "answered", "ended")
    result = await asyncio.wait_for(demo, 120)
    # What the demo prints for the desk: the password from the environment, the users.
    assert result["desk"]["password"] == PASSWORD
    assert result["desk"]["usernames"] == ["agent1", "agent2", "agent3"]
    assert result["desk"]["url"] == f"http://127.0.0.1:{port}/desk"
    # The pop is dated on the demo's simulated clock (its busy hour), not the wall clock.
    start = result["simulated"]["start"]
    assert start <= pop["ringing_at"] <= start + result["simulated"]["seconds"]
    # Desk agents get timed after-call work, on the demo's simulated clock: a 30 s wrap-up
    # ends within the 10 wall seconds (it would take 30 on the wall clock), many times over.
    lines = [line.split("|") for line in (tmp_path / "demo" / "queue_log").read_text().splitlines()]
    started = [line for line in lines if line[4] == "PAUSEALL" and line[5:] == ["话后处理"]]
    ended = [line for line in lines if line[4] == "UNPAUSEALL"]
    assert len(started) >= 2 and len(ended) >= 2
    first = started[0]
    end = next(line for line in ended if line[3] == first[3] and line[0] >= first[0])
    assert int(end[0]) - int(first[0]) >= 29  # ~ 30 simulated seconds later
    store = await TicketStore.open(f"sqlite+aiosqlite:///{tmp_path / 'demo' / 'demo.sqlite3'}")
    try:
        tied = await AgentDirectory(store.engine).for_user("agent3")
        assert tied is not None
        assert (tied["interface"], tied["pbx"]) == ("Local/agent3@agent-robot/n", "pbx1")
        assert {s["queue"] for s in tied["skills"]} == {"hotline-general", "hotline-complaint"}
    finally:
        await store.close()
