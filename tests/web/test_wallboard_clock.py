"""The wallboard's durations follow the service's one clock (the demo's simulated one).

In the demo the PBX runs on simulated time (a busy hour earlier today); a wallboard measuring
"for" on the host's wall clock showed every call as hours old.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from hotline.demo_model import busy_hour_start, demo_model
from hotline.service import HotlineService
from hotline.settings import Settings
from hotline.sim.actions import attach
from hotline.sim.ami_server import AmiServer
from hotline.sim.traffic import Simulation
from hotline.web.app import create_app
from hotline.web.wallboard import build_snapshot
from tests.service.helpers import service_settings, wait_for
from tests.web.auth_helpers import bearer
from tests.web.fake_live import FakeLive
from ticketing.store import TicketStore


def _durations(snapshot: dict[str, Any]) -> list[int]:
    found = [call["for_s"] for call in snapshot["calls"] if "for_s" in call]
    for queue in snapshot["queues"]:
        found += [m["for_s"] for m in queue["members"] if "for_s" in m]
    return found


async def test_the_app_measures_durations_on_the_clock_it_is_given(
    aiohttp_client: Any, store: TicketStore
) -> None:
    live = FakeLive()
    # FakeLive's "since" values are around the wall clock; a clock 100 s ahead adds 100 s.
    ahead = build_snapshot(live)["at"] + 100
    client = await aiohttp_client(create_app(live, dict, store=store, clock=lambda: ahead))
    response = await client.get("/api/wallboard", headers=await bearer(store, "wall", "wallboard"))
    snapshot = await response.json()
    assert snapshot["at"] == ahead
    (talking,) = [c for c in snapshot["calls"] if c["stage"] == "talking"]
    assert 174 <= talking["for_s"] <= 176


async def test_demo_wallboard_durations_follow_the_simulated_clock(tmp_path: Path) -> None:
    start = busy_hour_start(Settings().kpi.timezone)
    async with AmiServer(secret="hotline-secret") as server:
        settings = service_settings(tmp_path, server.port)
        settings.ivr.enabled = False
        sim = Simulation(
            demo_model(calls_per_hour=900, agents=6),
            seed=3,
            queue_log_path=tmp_path / "queue_log",
            start=start,
        )
        pump = attach(sim.pbx, server)
        service = HotlineService(settings, now=lambda: sim.now)
        await service.start()
        try:
            assert service.link is not None and service.store is not None
            await service.link.wait_connected(timeout=10)
            await wait_for(lambda: not service.catching_up)
            sim.run_for(600)
            await pump.flush()  # type: ignore[attr-defined]
            await wait_for(lambda: bool(service.live.calls()), 10)
            headers = await bearer(service.store, "wall", "wallboard")
            url = f"http://127.0.0.1:{service.web_port}/api/wallboard"
            async with aiohttp.ClientSession(headers=headers) as http, http.get(url) as response:
                assert response.status == 200
                snapshot = await response.json()
        finally:
            await service.stop()
            await pump.close()
            sim.close()
    durations = _durations(snapshot)
    assert durations, "calls were in flight"
    # Ten simulated minutes have passed since the first call: no call can be older.
    assert snapshot["at"] == sim.now
    assert max(durations) <= 600, durations
