"""AMI outages in the middle of live traffic from the simulated PBX.

While the link is down Asterisk goes on: calls are answered, abandoned and hung up, and only
queue_log and cdr_csv remember. After the reconnect the service re-synchronises
(CoreShowChannels, QueueStatus, queue_log, cdr_csv) and every call is stored once, with the
outcome the PBX gave it; the calls that ended while nobody was listening are marked recovered.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from hotline.demo_model import demo_model
from hotline.service import HotlineService
from hotline.settings import Settings
from hotline.sim.actions import attach
from hotline.sim.ami_server import AmiServer
from hotline.sim.traffic import Simulation

from .helpers import service_settings, wait_for

START = 1795395600.0  # 2026-11-23 09:00 in China: a morning busy hour


def _settings(tmp_path: Path, port: int) -> Settings:
    settings = service_settings(tmp_path, port)
    data = settings.model_dump(mode="python")
    data["ami"].update(action_timeout=0.5, reconnect_min=0.05, reconnect_max=0.1)
    data["asterisk"]["queue_log"] = tmp_path / "queue_log"
    data["asterisk"]["cdr_csv"] = tmp_path / "cdr-csv" / "Master.csv"
    return Settings.model_validate(data)


async def _outage(
    server: AmiServer, service: HotlineService, sim: Simulation, pump: object, seconds: float
) -> None:
    """Drop the link and keep it down (logins go unanswered) for `seconds` of PBX time."""
    link = service.link
    assert link is not None
    reconnects = link.state["reconnects"]
    server.pause_responses = True
    server.drop_clients()
    await wait_for(lambda: not link.connected)
    sim.run_for(seconds)  # events of this stretch reach nobody: no client is logged in
    await pump.flush()  # type: ignore[attr-defined]
    server.pause_responses = False
    await wait_for(lambda: link.connected and link.state["reconnects"] > reconnects, 15)
    await wait_for(lambda: not service.catching_up)


async def test_outages_lose_no_call_and_store_none_twice(tmp_path: Path) -> None:
    async with AmiServer(secret="hotline-secret", badauth_delay=0) as server:
        sim = Simulation(
            demo_model(calls_per_hour=900, agents=6),
            seed=3,
            queue_log_path=tmp_path / "queue_log",
            cdr_path=tmp_path / "cdr-csv" / "Master.csv",
            start=START,
        )
        pump = attach(sim.pbx, server)
        service = HotlineService(_settings(tmp_path, server.port), now=lambda: sim.now)
        await service.start(web_enabled=False)
        try:
            assert service.link is not None and service.writer is not None
            await service.link.wait_connected(timeout=5)
            await wait_for(lambda: not service.catching_up)
            # Traffic, then outages of growing length: 2 s catches a call mid-ring, 40 s and
            # 150 s let calls be answered, abandoned, time out and end unseen.
            for before, down in ((120, 2), (60, 40), (90, 150), (45, 1)):
                sim.run_for(before)
                await pump.flush()
                await _outage(server, service, sim, pump, down)
            sim.run_for(60)
            sim.drain()
            await pump.flush()
            await wait_for(lambda: not service.tracker.active_calls(), 15)
            assert await service.writer.flush(timeout=20)
            assert service.store is not None
            stored = await service.store.calls_between(
                datetime(2020, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
            )
        finally:
            await service.stop()
            await pump.close()
            sim.close()

    # Nothing twice: the tracker emitted each leg once, and the store holds as many.
    assert service.records == len(stored)
    assert max(Counter(row["key"] for row in stored).values()) == 1

    outages = [r for r in stored if r["recovered"]]
    assert outages, "the outages should have caught calls in flight"

    seen = {(r["uniqueid"], r["queue"], r["outcome"]): r for r in stored}
    missing = []
    for truth in sim.truths:
        if truth.outcome is None:
            continue
        key = (truth.uniqueid, truth.queue, truth.outcome)
        row = seen.get(key)
        if row is None:
            missing.append(truth)
            continue
        assert (row["wait_s"], row["answered_by"]) == (truth.wait_s, truth.answered_by), key
        if truth.outcome != "transferred":
            assert row["talk_s"] == truth.talk_s, key
    # Nothing is missing: an IVR hang-up that began and ended inside an outage (no queue, so
    # no queue_log line) comes back from cdr_csv.
    assert missing == [], [t.to_expected() for t in missing]
    finished = [t for t in sim.truths if t.outcome]
    assert len(stored) == len(finished)
    unseen_ivr = [r for r in stored if r["recovered"] and r["outcome"] == "ivr_hangup"]
    assert unseen_ivr, "an IVR hang-up should have begun and ended inside an outage"
