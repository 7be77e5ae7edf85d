"""The database goes away while calls finish: they wait, /healthz says so, nothing is lost."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from hotline.service import HotlineService
from hotline.sim.ami_server import AmiServer, replay
from tests.captures import load_expected, raw_bytes
from tests.pg import PostgresServer

from .helpers import answer_as_idle_pbx, service_settings, wait_for


async def _healthz(port: int) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            return response.status, await response.json()


async def test_calls_wait_for_postgres_and_healthz_reports_it(
    tmp_path: Path, postgres_server: PostgresServer, postgres_url: str
) -> None:
    expected = load_expected("answered_slow") + load_expected("transfer")
    async with AmiServer() as server:
        answer_as_idle_pbx(server)
        service = HotlineService(service_settings(tmp_path, server.port, postgres_url))
        await service.start()
        try:
            assert service.link is not None and service.writer is not None
            assert service.store is not None and service.web_port is not None
            await service.link.wait_connected(timeout=5)
            await wait_for(lambda: not service.catching_up)
            status, body = await _healthz(service.web_port)
            assert status == 200, body

            with postgres_server.stopped():
                await replay(server, raw_bytes("answered_slow"))
                await replay(server, raw_bytes("transfer"))
                await wait_for(lambda: service.records == len(expected))
                await service.writer.wait_until(lambda s: not s["db_ok"], timeout=20)
                status, body = await _healthz(service.web_port)
                assert status == 503
                assert "database" in body["degraded"]  # type: ignore[operator]
                assert service.writer.status()["buffered"] + service.writer.pending > 0

            await service.writer.wait_until(
                lambda s: s["db_ok"] and s["buffered"] == 0 and s["spilled"] == 0, timeout=30
            )
            assert await service.writer.flush(timeout=30)
            assert await service.store.count_calls() == len(expected)
            status, body = await _healthz(service.web_port)
            assert status == 200, body
        finally:
            await service.stop()
