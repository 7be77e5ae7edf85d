"""Early warning end to end: the simulator's traffic model with an outage burst drives the
real service (FastAGI IVR, AMI tracker, bus, store, web API, MQTT bridge to a real
Mosquitto). The burst's suggestion appears on the console's API and reaches an MQTT
subscriber; the supervisor's one click announces it, and the next caller from that area
hears the announcement (and, pressing 1, is registered against it: 并单)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from hotline.service import HotlineService
from hotline.sim.actions import attach
from hotline.sim.agi_driver import FastAgiDriver
from hotline.sim.ami_server import AmiServer
from hotline.sim.model import CallerScript
from hotline.sim.traffic import AgentProfile, Burst, Simulation, TrafficModel
from tests.mosquitto import Mosquitto
from tests.service.helpers import MqttMessages, mqtt_on, service_settings, wait_for
from tests.web.auth_helpers import bearer

SPEED = 40.0
# A working-day morning: every queue open.
START = datetime(2026, 11, 26, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
AREA_PREFIX = "1390861"


WARNING = {
    "window_minutes": 10,
    "min_calls": 6,
    "ratio": 3,
    "areas": [{"name": "东区", "prefixes": [AREA_PREFIX]}],
}


async def stored(service: HotlineService, linkedid: str) -> dict[str, Any]:
    """The call's stored record, once the tracker has finished it and the writer stored it."""
    assert service.writer is not None and service.store is not None
    everything = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    while True:
        await service.writer.flush(timeout=10)
        found = [
            r for r in await service.store.calls_between(*everything) if r["linkedid"] == linkedid
        ]
        if found:
            return found[0]
        await asyncio.sleep(0.05)  # polling the store; the caller bounds it


@asynccontextmanager
async def running(tmp_path: Path, mosquitto: Mosquitto) -> AsyncIterator[Any]:
    agents = [
        AgentProfile(n, ["hotline-general", "hotline-complaint", "hotline-report"], ring_min=1,
                     ring_max=1, talk_mean=8, talk_min=8, no_answer=0.0)
        for n in (1, 2, 3)
    ]  # fmt: skip
    # Normal traffic (120 calls an hour from anywhere) and 10 callers from 东区 pressing 1
    # within five minutes, starting a minute in.
    burst = Burst(prefix=AREA_PREFIX, key="1", calls=10, minutes=5, after_s=60)
    model = TrafficModel(
        peak_calls_per_hour=120.0,
        hourly_profile=(1.0,) * 24,
        agents=agents,
        patience_mean=600.0,
        ivr_hangup=0.0,
        transfer_share=0.0,
        bursts=[burst],
    )
    async with AmiServer(secret="hotline-secret") as server:
        sim = Simulation(model, seed=3, queue_log_path=tmp_path / "queue_log", start=START)
        pump = attach(sim.pbx, server)
        settings = service_settings(tmp_path, server.port, mqtt=mqtt_on(mosquitto), warning=WARNING)
        service = HotlineService(settings, now=lambda: sim.now)
        await service.start()
        assert service.link is not None and service.ivr.port is not None
        await service.link.wait_connected(timeout=10)
        driver = FastAgiDriver("127.0.0.1", service.ivr.port, speed=SPEED)
        sim.pbx.ivr_driver = driver
        stop = asyncio.Event()
        try:
            yield service, sim, stop
        finally:
            stop.set()
            await driver.close()
            await service.stop()
            await pump.close()
            sim.close()


async def test_a_burst_is_suggested_announced_in_one_click_and_heard(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    received = MqttMessages("hotline/warning/#")
    listener = asyncio.create_task(received.run(mosquitto))
    await asyncio.wait_for(received.subscribed.wait(), 10)
    async with running(tmp_path, mosquitto) as (service, sim, stop):
        warning = service.warning
        assert warning is not None and service.store is not None
        runner = asyncio.create_task(sim.run_realtime(SPEED, stop, max_sleep=0.01))
        try:
            # The suggestion appears (on the console's API) while the burst goes on.
            await wait_for(lambda: bool(warning.list()), timeout=60)
            boss = await bearer(service.store, "banzhang", "supervisor")
            base = f"http://127.0.0.1:{service.web_port}"
            async with aiohttp.ClientSession(headers=boss) as http:
                async with http.get(f"{base}/api/warnings") as answer:
                    (suggestion,) = (await answer.json())["suggestions"]
                assert (suggestion["area"], suggestion["status"]) == ("东区", "open")
                assert suggestion["prefixes"] == [AREA_PREFIX]
                assert suggestion["calls"] >= 6
                raised = datetime.fromisoformat(suggestion["raised_at"]).timestamp()
                assert START + 60 <= raised <= START + 60 + 5 * 60  # during the burst

                # An MQTT subscriber has it, as the bridge publishes every domain event.
                await wait_for(lambda: bool(received.messages), timeout=20)
                topic, payload = received.messages[0]
                assert topic == "hotline/warning/suggested" and payload["id"] == suggestion["id"]

                # One click: the suggestion becomes an announcement on the IVR.
                url = f"{base}/api/warnings/{suggestion['id']}/accept"
                async with http.post(url, json={}) as answer:
                    assert answer.status == 201, await answer.text()
                    incident = (await answer.json())["incident"]
            assert incident["prefixes"] == [AREA_PREFIX]
            assert service.ivr.board.get(incident["id"]) is not None

            # The next caller from the area hears it and presses 1 ("this is why I call").
            truth = sim.place_call(
                CallerScript(f"{AREA_PREFIX}9999", "甲", "1", dtmf_delay=0.5, talk_limit=5)
            )
            await wait_for(lambda: truth.ended_at is not None, timeout=60)
            mine = await asyncio.wait_for(stored(service, truth.linkedid), 30)
            assert mine["incident_id"] == incident["id"]
            await wait_for(lambda: len(received.messages) >= 2, timeout=20)
            assert received.messages[1][0] == "hotline/warning/accepted"
            # The burst's other callers were all one area's: nothing else was suggested.
            assert len(warning.list()) == 1
        finally:
            stop.set()
            await runner
    listener.cancel()
    await asyncio.gather(listener, return_exceptions=True)
