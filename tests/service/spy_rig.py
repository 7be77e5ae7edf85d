"""The service on the simulated PBX with one robot agent (agent1, general queue, long calls)
and a supervisor tied to a robot phone (``Local/sup1@supervisor-robot/n``, as in the
spy_and_record capture); every Originate the PBX receives is recorded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hotline.service import HotlineService
from hotline.sim.actions import attach
from hotline.sim.agi_driver import FastAgiDriver
from hotline.sim.ami_server import AmiServer
from hotline.sim.model import CallerScript, QueueConfig
from hotline.sim.traffic import AgentProfile, Simulation, TrafficModel
from tests.service.helpers import service_settings, wait_for
from ticketing.agents import AgentDirectory

SPEED = 10.0
START = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
SUPERVISOR_PHONE = "Local/sup1@supervisor-robot/n"
AGENT = "Local/agent1@agent-robot/n"
AGENT_ID = f"pbx1|{AGENT}"


@dataclass
class SpyRig:
    service: HotlineService
    sim: Simulation
    server: AmiServer
    url: str
    originates: list[dict[str, str]]

    def talking_call(self) -> dict[str, Any] | None:
        return next(
            (c for c in self.service.tracker.active_calls() if c.get("stage") == "talking"), None
        )

    async def call_answered(self, talk_s: float = 60.0) -> dict[str, Any]:
        """A caller presses 1, agent1 answers; returns the tracker's view of the call."""
        self.sim.place_call(CallerScript("13900139002", "黄磊", "1", dtmf_delay=0.5,
                                         talk_limit=talk_s))  # fmt: skip
        await wait_for(lambda: self.talking_call() is not None, timeout=20)
        call = self.talking_call()
        assert call is not None
        return call


@asynccontextmanager
async def spy_rig(tmp_path: Path) -> AsyncIterator[SpyRig]:
    model = TrafficModel(
        peak_calls_per_hour=0.0,
        agents=[AgentProfile(1, ["hotline-general"], ring_min=2, ring_max=2, talk_mean=3000,
                             talk_min=3000, no_answer=0.0)],
        queues=[QueueConfig("hotline-general", timeout=600.0)],
        queue_max_wait=3600,
    )  # fmt: skip
    async with AmiServer(secret="hotline-secret") as server:
        sim = Simulation(model, seed=3, queue_log_path=tmp_path / "queue_log", start=START)
        pump = attach(sim.pbx, server)
        originates: list[dict[str, str]] = []
        original = server._handlers["originate"]  # record what the PBX got

        async def seen(msg: Any) -> Any:
            originates.append(dict(msg.fields))
            return await original(msg)

        server.register_action("Originate", seen)
        service = HotlineService(service_settings(tmp_path, server.port), now=lambda: sim.now)
        await service.start(web_enabled=True)
        assert service.link is not None and service.ivr.port is not None
        assert service.web is not None and service.store is not None
        await service.link.wait_connected(timeout=10)
        driver = FastAgiDriver("127.0.0.1", service.ivr.port, speed=SPEED)
        sim.pbx.ivr_driver = driver
        stop = asyncio.Event()
        runner = asyncio.create_task(sim.run_realtime(SPEED, stop, max_sleep=0.01))
        try:
            yield SpyRig(service, sim, server, f"http://127.0.0.1:{service.web.port}", originates)
        finally:
            stop.set()
            await runner
            await driver.close()
            await service.stop()
            await pump.close()
            sim.close()


async def tie_supervisor_phone(service: HotlineService, username: str) -> None:
    assert service.store is not None
    await AgentDirectory(service.store.engine).set_agent(
        username,
        extension="9001",
        name="班长 王",
        interface=SUPERVISOR_PHONE,
        roles=("supervisor",),
    )
