"""Simulated callers walk the service's real FastAGI IVR; what they did reaches the store.

simulator (FastAgiDriver) → the service's FastAGI IVR → AMI → the call tracker → call records,
tickets, incident tickets (并单), surveys and the satisfaction figure.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hotline.service import HotlineService
from hotline.sim.actions import attach
from hotline.sim.agi_client import FastAgiClient, Phone, agi_environment
from hotline.sim.agi_driver import FastAgiDriver
from hotline.sim.ami_server import AmiServer
from hotline.sim.model import CallerScript
from hotline.sim.traffic import AgentProfile, Simulation, TrafficModel
from tests.service.helpers import service_settings, wait_for

SPEED = 40.0
# A working-day evening: the report queue is closed (callback), the general one is open.
START = datetime(2026, 11, 25, 22, 30, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


@dataclass
class Rig:
    service: HotlineService
    sim: Simulation
    driver: FastAgiDriver


@asynccontextmanager
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with AmiServer(secret="hotline-secret") as server:
        agents = [
            AgentProfile(
                1,
                ["hotline-general", "hotline-complaint", "hotline-report"],
                ring_min=1,
                ring_max=1,
                talk_mean=20,
                talk_min=20,
                no_answer=0.0,
            )
        ]
        sim = Simulation(
            TrafficModel(peak_calls_per_hour=0.0, agents=agents),
            seed=1,
            queue_log_path=tmp_path / "queue_log",
            start=START,
        )
        pump = attach(sim.pbx, server)
        service = HotlineService(service_settings(tmp_path, server.port), now=lambda: sim.now)
        await service.start(web_enabled=False)
        assert service.link is not None and service.ivr.port is not None
        await service.link.wait_connected(timeout=10)
        driver = FastAgiDriver("127.0.0.1", service.ivr.port, speed=SPEED)
        sim.pbx.ivr_driver = driver
        try:
            yield Rig(service, sim, driver)
        finally:
            await driver.close()
            await service.stop()
            await pump.close()
            sim.close()


async def play(rig: Rig, scripts: list[CallerScript]) -> None:
    sim = rig.sim
    ended = asyncio.Event()
    sim.pbx.on_call_end.append(lambda truth: ended.set() if sim.pbx.active_calls() == 0 else None)
    stop = asyncio.Event()
    runner = asyncio.create_task(sim.run_realtime(SPEED, stop, max_sleep=0.01))
    for script in scripts:
        sim.place_call(script)
    try:
        await asyncio.wait_for(ended.wait(), timeout=30)
    finally:
        stop.set()
        await runner
    service = rig.service
    await wait_for(lambda: not service.tracker.active_calls())
    assert service.writer is not None
    await service.writer.flush(timeout=10)


async def stored_records(service: HotlineService) -> dict[str, dict[str, Any]]:
    assert service.store is not None
    records = await service.store.calls_between(
        datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    )
    return {r["uniqueid"]: r for r in records}


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


async def agi_session(
    port: int, script: str, caller: str, linkedid: str, phone: Phone
) -> list[str]:
    client = FastAgiClient(
        "127.0.0.1", port, speed=SPEED, channel_vars={"CHANNEL(linkedid)": linkedid}
    )
    env = agi_environment(
        channel="PJSIP/trunk-00000099",
        uniqueid=f"{linkedid}.9",
        caller_num=caller,
        caller_name="",
        request=f"agi://127.0.0.1:{port}/{script}",
    )
    result = await asyncio.wait_for(client.run(env, phone), timeout=20)
    return [line for direction, line in result.transcript if direction == "app->asterisk"]


async def test_ivr_outcomes_incidents_and_surveys_reach_records_and_tickets(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        service = r.service
        await service.ivr.desk.create(
            {
                "id": "water-0925",
                "title": "东区停水",
                "text": "东区因管道抢修停水。",
                "prompt": "hotline/incidents/water-0925",
                "start": iso(START - 600),
                "prefixes": ["1390"],
            }
        )
        affected = [
            CallerScript("13900001111", "甲", "1", talk_limit=5),
            CallerScript("13900002222", "乙", "1", talk_limit=5),
        ]
        callback = CallerScript("13800003333", "丙", "4", talk_limit=5)
        # The agent ends this one (talk 20 s): the caller goes on to the survey and presses 2.
        complaint = CallerScript("13800004444", "丁", "3", survey="2")
        await play(r, [*affected, callback, complaint])
        truths = {t.caller_num: t for t in r.sim.truths}
        records = await stored_records(service)

        # Every call's record carries the IVR's own account of the session.
        for script in affected:
            got = records[truths[script.caller_num].uniqueid]
            assert got["incident_id"] == "water-0925"
            assert got["ivr_path"] == ["welcome", "main"]
            assert got["language"] == "zh"
        got = records[truths[callback.caller_num].uniqueid]
        assert got["callback_requested"] is True and got["incident_id"] is None
        assert got["ivr_path"] == ["welcome", "main"]
        got = records[truths[complaint.caller_num].uniqueid]
        assert (got["ivr_choice"], got["callback_requested"]) == ("3", False)
        assert got["outcome"] == "answered"

        # Both affected callers are merged (并单) into the incident's one ticket.
        assert service.store is not None
        await wait_for(lambda: service.ivr.reports == 2)
        (incident,) = await service.store.incidents()
        assert incident["merged_callers"] == 2 and incident["ticket_number"]
        events = await service.store.ticket_events_for(incident["ticket_number"])
        merged = {e["data"]["linkedid"] for e in events if e["kind"] == "merged"}
        assert merged == {truths[s.caller_num].linkedid for s in affected}

        # The post-call survey (its HOTLINE_SURVEY VarSet) reaches the call's ticket and the
        # satisfaction figure.
        rated = truths[complaint.caller_num]
        port = service.ivr.port
        assert port is not None
        await wait_for(lambda: service.ivr.surveys == 1)
        (ticket,) = await service.store.recent_tickets_for_caller(
            rated.caller_num, now=datetime.fromtimestamp(START + 3600, UTC)
        )
        # "投诉请按3": filed as a complaint, the category the menu gives key 3.
        assert ticket["category"] == "complaint"
        kinds = [
            (e["kind"], e["data"].get("answer"))
            for e in await service.store.ticket_events_for(ticket["number"])
        ]
        assert ("survey", "basically_satisfied") in kinds
        assert (await stored_records(service))[rated.uniqueid]["survey"] == "basically_satisfied"
        satisfaction = service.kpi.snapshot().totals["satisfaction"].to_json()
        assert (satisfaction["numerator"], satisfaction["denominator"]) == (1, 1)

        # Menu key 6: the caller hears their own ticket's status; nobody else does.
        keyed = ticket["number"].replace("-", "")[-12:]  # the menu reads 12 digits at most
        own = await agi_session(
            port, "ivr", rated.caller_num, "lookup-1", Phone(keys=["6", keyed, None])
        )
        status = ticket["status"].replace("_", "-")
        assert f'STREAM FILE hotline/ticket-status-{status} ""' in own, (ticket["number"], own)
        other = await agi_session(
            port, "ivr", "13700000000", "lookup-2", Phone(keys=["6", keyed, None])
        )
        assert 'STREAM FILE hotline/ticket-not-found "0"' in other


async def test_ending_the_incident_stops_announcing_it(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        desk = r.service.ivr.desk
        await desk.create(
            {
                "id": "power-1",
                "title": "停电",
                "text": "西区停电。",
                "prompt": "hotline/inc-power",
                "start": iso(START - 60),
                "prefixes": ["1390"],
            }
        )
        assert await desk.end("power-1")
        assert not await desk.end("power-1")  # ended already
        late = CallerScript("13900005555", "戊", "1", talk_limit=5)
        await play(r, [late])
        (truth,) = r.sim.truths
        got = (await stored_records(r.service))[truth.uniqueid]
        assert got["incident_id"] is None
        assert got["ivr_choice"] == "1"  # the 1 went to the main menu, not to the incident
