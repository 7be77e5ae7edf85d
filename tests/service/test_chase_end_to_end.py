"""Chasing end to end, in the real service: the chase scheduler inside it finds an overdue
case, its notices go out as domain events to a real Mosquitto (MQTT) and the unit's open case
console hears of the chase at once (/ws/cases); the chase list names it. A restarted service
sweeps again and chases nothing twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from hotline.service import HotlineService
from hotline.settings import Settings
from hotline.sim.ami_server import AmiServer
from tests.mosquitto import Mosquitto
from tests.service.helpers import MqttMessages, mqtt_on, service_settings, wait_for
from tests.web.auth_helpers import bearer
from tests.web.test_cases_api import unit_token
from ticketing.workflow import Actor

UNIT = "水务局"
AGENT = Actor("li", "agent")


@asynccontextmanager
async def service(settings: Settings) -> AsyncIterator[HotlineService]:
    running = HotlineService(settings)
    await running.start(web_enabled=True)
    try:
        yield running
    finally:
        await running.stop()


async def test_an_overdue_case_is_chased_over_mqtt_and_to_the_units_console(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    received = MqttMessages("hotline/case/#")
    listener = asyncio.create_task(received.run(mosquitto))
    await asyncio.wait_for(received.subscribed.wait(), 10)
    async with AmiServer(secret="hotline-secret") as ami:
        settings = service_settings(
            tmp_path, ami.port, mqtt=mqtt_on(mosquitto), cases={"chase_interval_s": 0.2}
        )
        async with service(settings) as first:
            store = first.store
            assert store is not None and first.web is not None and first.chaser is not None
            url = f"http://127.0.0.1:{first.web.port}"
            await store.add_unit(UNIT)
            unit = await unit_token(store, "swj", UNIT)
            boss = await bearer(store, "zhao", "supervisor")
            async with aiohttp.ClientSession() as http:
                console = await http.ws_connect(url + "/ws/cases", headers=unit)
                assert (await console.receive_json(timeout=10))["type"] == "hello"
                # Dispatched ten days ago on a 1-working-day limit: overdue, never signed.
                then = datetime.now(UTC) - timedelta(days=10)
                case = await store.register_case(
                    AGENT, {"category": "help", "urgency": "urgent"}, at=then
                )
                await store.apply_action(case["id"], "dispatch", AGENT, {"unit": UNIT}, 1,
                                         now=then)  # fmt: skip
                # The unit's console: the dispatch, then the scheduler's chase, unreloaded.
                kinds: set[str] = set()
                while not kinds & {"chase", "supervise"}:
                    message = await console.receive_json(timeout=10)
                    if message["type"] == "case" and message["number"] == case["number"]:
                        kinds.add(message["kind"])
                await console.close()
                # MQTT: the chase notices, typed (events.payloads.CaseChase).
                await wait_for(
                    lambda: any(t == "hotline/case/chased" for t, _ in received.messages)
                )
                chased = [p for t, p in received.messages if t == "hotline/case/chased"]
                assert {p["number"] for p in chased} == {case["number"]}
                assert {p["level"] for p in chased} >= {"overdue"}
                assert all(p["handling_unit"] == UNIT for p in chased)
                await wait_for(
                    lambda: any(t == "hotline/case/escalated" for t, _ in received.messages)
                )
                # The console's chase list names it.
                async with http.get(url + "/api/chases", headers=boss) as response:
                    listed = (await response.json())["chases"]
                assert case["number"] in {c["number"] for c in listed}
            history = await store.case_history(case["id"])
            chases = [e for e in history if e["kind"] in ("chase", "supervise")]

        # Restarted (or the standby taking over): it sweeps again and chases nothing twice.
        async with service(settings) as second:
            assert second.chaser is not None and second.store is not None
            second.chaser.attempted.clear()
            await asyncio.wait_for(second.chaser.attempted.wait(), 10)
            again = await second.store.case_history(case["id"])
            assert [e for e in again if e["kind"] in ("chase", "supervise")] == chases
    listener.cancel()
    await asyncio.gather(listener, return_exceptions=True)
