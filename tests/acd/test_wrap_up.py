"""Timed after-call work over a real AMI link to the simulated PBX: a finished call pauses the
agent with the wrap-up reason and the timer makes it ready again; an agent found in wrap-up
after a (re)start gets only the rest of its time; ending it early stops the timer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from acd.agents.actions import Member, MemberActions, Skill
from acd.agents.board import AgentBoard
from acd.agents.wrapup import WrapUps
from acd.ami.message import AmiMessage
from acd.feed import AmiEndpoint, AmiFeed, PbxLogs
from hotline.sim.actions import PbxActions, attach
from hotline.sim.ami_server import AmiServer
from hotline.sim.model import CallerScript, FixedBehaviour
from hotline.sim.traffic import Simulation, TrafficModel
from tests.service.helpers import wait_for

PHONE = Member("PJSIP/2001", "周 2001")
REASON = "话后处理"


@dataclass
class Rig:
    sim: Simulation
    feed: AmiFeed
    actions: MemberActions
    wrapups: WrapUps
    queue_log: Path

    def state(self) -> str:
        assert self.feed.agents is not None
        return str(self.feed.agents.view(PHONE.interface)["state"])

    def log(self, event: str) -> list[list[str]]:
        lines = [line.split("|") for line in self.queue_log.read_text("utf-8").splitlines()]
        return [line for line in lines if line[4] == event and line[3] == PHONE.name]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with AmiServer(secret="s") as server:
        sim = Simulation(
            TrafficModel(peak_calls_per_hour=0.0, agents=[]),
            seed=1,
            queue_log_path=tmp_path / "queue_log",
        )
        sim.pbx.config.default_behaviour = FixedBehaviour(1.0, 5.0)
        pump = attach(sim.pbx, server)
        tasks: set[asyncio.Task[None]] = set()
        holder: dict[str, WrapUps] = {}

        def publish(topic: str, payload: dict[str, Any]) -> None:
            # What the bus does: each agent.status to the wrap-up timer, in order.
            task = asyncio.get_running_loop().create_task(holder["w"].on_status(topic, payload))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        feed = AmiFeed(
            AmiEndpoint("127.0.0.1", server.port, "hotline", "s", action_timeout=2.0),
            PbxLogs(tmp_path / "queue_log", tmp_path / "Master.csv"),
            publish=None,
            on_record=None,
            entry_contexts=["hotline-ivr"],
            agents=AgentBoard(publish),
        )
        actions = MemberActions(lambda: feed.link, timeout=2.0)
        wrapups = holder["w"] = WrapUps(
            {"pbx1": actions},
            lambda pbx, interface: PHONE if interface == PHONE.interface else None,
            seconds=0.5,
            reason=REASON,
            now=lambda: sim.now,
        )
        stop = asyncio.Event()
        runner = asyncio.create_task(sim.run_realtime(10.0, stop, max_sleep=0.01))
        try:
            yield Rig(sim, feed, actions, wrapups, tmp_path / "queue_log")
        finally:
            stop.set()
            await runner
            wrapups.close()
            await feed.stop()
            await pump.close()
            sim.close()


async def _start(rig: Rig) -> None:
    await rig.feed.start(last_stored_end=None)
    assert rig.feed.link is not None
    await rig.feed.link.wait_connected(timeout=5)


async def test_a_finished_call_starts_a_wrap_up_that_runs_out(rig: Rig) -> None:
    await _start(rig)
    await rig.actions.login(PHONE, [Skill("hotline-general")])
    await wait_for(lambda: rig.state() == "ready")
    rig.sim.place_call(CallerScript("13800138000", "张三", "1"))
    await wait_for(lambda: rig.state() == "talking", 20)
    await wait_for(lambda: rig.state() == "wrap_up", 20)
    assert rig.wrapups.remaining("pbx1", PHONE.interface) is not None
    await wait_for(lambda: rig.state() == "ready", 5)
    assert [line[5] for line in rig.log("PAUSEALL")] == [REASON]
    assert len(rig.log("UNPAUSEALL")) == 1


async def test_ending_early_stops_the_timer(rig: Rig) -> None:
    await _start(rig)
    rig.wrapups.seconds = 30
    await rig.actions.login(PHONE, [Skill("hotline-general")])
    rig.sim.place_call(CallerScript("13800138000", "张三", "1"))
    await wait_for(lambda: rig.state() == "wrap_up", 20)
    await wait_for(lambda: rig.wrapups.remaining("pbx1", PHONE.interface) is not None)
    await rig.actions.unpause(PHONE)
    await wait_for(lambda: rig.wrapups.remaining("pbx1", PHONE.interface) is None)
    assert rig.state() == "ready"


async def test_found_in_wrap_up_at_start_gets_the_rest_of_its_time(rig: Rig) -> None:
    # Before the service connects: the agent is in wrap-up since long ago (a restart).
    sim_actions = PbxActions(rig.sim.pbx)
    for fields in (
        [("Action", "QueueAdd"), ("Queue", "hotline-general"), ("Interface", PHONE.interface),
         ("MemberName", PHONE.name)],
        [("Action", "QueuePause"), ("Interface", PHONE.interface), ("Paused", "true"),
         ("Reason", REASON)],
    ):  # fmt: skip
        assert sim_actions.handle(AmiMessage(fields))[0].name == "Success"
    rig.sim.run_for(60)
    await _start(rig)
    # The QueueStatus resync shows it in wrap-up since its LastPause, 60 s ago: ended at once.
    await wait_for(lambda: rig.state() == "ready", 5)
    assert len(rig.log("UNPAUSEALL")) == 1


class _Phone:
    """Member actions that only note what they were asked (the clock test needs no PBX)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def pause(self, member: Member, reason: str) -> None:
        self.asked.append(f"pause {reason}")

    async def unpause(self, member: Member) -> None:
        self.asked.append("unpause")


async def test_the_wrap_up_runs_on_the_clock_passed_in_not_the_wall_clock() -> None:
    clock = [1_800_000_000.0]  # the demo's simulated clock: moves only when it is moved
    phone = _Phone()
    wrapups = WrapUps(
        {"pbx1": phone},  # type: ignore[dict-item]
        lambda pbx, interface: PHONE,
        seconds=30,
        reason=REASON,
        now=lambda: clock[0],
        tick_s=0.01,
    )
    try:
        completed = {"pbx": "pbx1", "interface": PHONE.interface, "change": "completed",
                     "state": "ready", "previous": "talking", "since": clock[0]}  # fmt: skip
        await wrapups.on_status("agent.status", completed)
        assert phone.asked == [f"pause {REASON}"]
        assert wrapups.remaining("pbx1", PHONE.interface) == 30
        # Wall time passes (many ticks), the clock does not: the wrap-up still runs.
        ticker = wrapups._ticker
        assert ticker is not None
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(ticker), 0.1)
        assert phone.asked == [f"pause {REASON}"]
        # 29 s of the clock: 1 s left; 30 s: over, ready again at the next tick.
        clock[0] += 29
        assert wrapups.remaining("pbx1", PHONE.interface) == 1
        clock[0] += 1
        await wait_for(lambda: phone.asked[-1:] == ["unpause"], 2)
        assert wrapups.remaining("pbx1", PHONE.interface) is None
        await asyncio.wait_for(ticker, 1)  # no wrap-up left: the ticker ends
    finally:
        wrapups.close()
