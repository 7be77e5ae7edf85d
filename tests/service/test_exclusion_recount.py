"""An exclusion window added or removed in the console recounts today's live KPIs at once
(the wallboard's figures), not at the next restart: the running service, its real web API
and store, and the live counters the wall screen reads."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from acd.kpi import LiveKpi
from hotline.service import HotlineService
from hotline.sim.ami_server import AmiServer
from tests.acd.kpi_builders import local, record
from tests.web.auth_helpers import bearer

from .helpers import answer_as_idle_pbx, service_settings

NOW = local(2026, 11, 23, 16)
AT = local(2026, 11, 23, 14)


def _figures(kpi: LiveKpi) -> tuple[object, int]:
    report = kpi.snapshot()
    return report.totals["connect_rate"].value, report.excluded.calls


async def test_a_window_from_the_api_recounts_the_live_figures_both_ways(tmp_path: Path) -> None:
    async with AmiServer(secret="hotline-secret") as server:
        answer_as_idle_pbx(server)
        service = HotlineService(service_settings(tmp_path, server.port), now=lambda: NOW)
        await service.start()
        try:
            assert service.store is not None and service.web_port is not None
            # Two calls today: one abandoned during a power cut, one answered later.
            service.kpi.add(record("abandoned", 50, at=AT))
            service.kpi.add(record("answered", 5, 50, at=AT + 3600))
            assert _figures(service.kpi) == (0.5, 0)
            boss = await bearer(service.store, "boss", "supervisor")
            base = f"http://127.0.0.1:{service.web_port}/api/kpi/exclusions"
            window = {
                "start": "2026-11-23T13:59:00+08:00",
                "end": "2026-11-23T14:01:00+08:00",
                "reason": "停电 power cut",
            }
            async with aiohttp.ClientSession(headers=boss) as http:
                async with http.post(base, json=window) as answer:
                    assert answer.status == 201, await answer.text()
                    window_id = (await answer.json())["id"]
                # The answer came after the recount: the live figures leave the call out.
                assert _figures(service.kpi) == (1.0, 1)
                async with http.post(f"{base}/{window_id}/remove") as answer:
                    assert answer.status == 200, await answer.text()
                assert _figures(service.kpi) == (0.5, 0)
        finally:
            await service.stop()
