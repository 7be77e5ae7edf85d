"""Issue 7 item 6 through the running service: the SQLite file is deleted under it while
calls finish. /healthz says so at once (503, naming the file); the calls wait; once the file
is restored they are written, and a store opened afresh on the file has them."""

from __future__ import annotations

import shutil
from pathlib import Path

import aiohttp

from hotline.service import HotlineService
from hotline.sim.ami_server import AmiServer, replay
from tests.captures import load_expected, raw_bytes
from ticketing.store import TicketStore

from .helpers import answer_as_idle_pbx, service_settings, wait_for


async def _healthz(port: int) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            return response.status, await response.json()


async def test_calls_wait_while_the_sqlite_file_is_gone(tmp_path: Path) -> None:
    db = tmp_path / "hotline.sqlite3"
    backup = tmp_path / "backup.sqlite3"
    expected = load_expected("answered_slow")
    async with AmiServer() as server:
        answer_as_idle_pbx(server)
        service = HotlineService(service_settings(tmp_path, server.port))
        await service.start()
        try:
            assert service.feed.link is not None and service.writer is not None
            assert service.web_port is not None and service.store is not None
            await service.feed.link.wait_connected(timeout=5)
            status, body = await _healthz(service.web_port)
            assert status == 200, body
            async with service.store.engine.connect() as connection:
                await connection.exec_driver_sql(f"VACUUM INTO '{backup}'")
            for suffix in ("", "-wal", "-shm"):
                db.with_name(db.name + suffix).unlink(missing_ok=True)

            status, body = await _healthz(service.web_port)
            assert status == 503
            database = body["degraded"]["database"]  # type: ignore[index]
            assert "is gone" in database["last_error"] and str(db) in database["last_error"]

            await replay(server, raw_bytes("answered_slow"))
            await wait_for(lambda: service.records == len(expected))
            await service.writer.wait_until(lambda s: s["last_error"] is not None, timeout=20)
            assert service.writer.pending == len(expected)  # waiting, not "written"

            shutil.copy(backup, db)
            assert await service.writer.flush(timeout=30)
            status, body = await _healthz(service.web_port)
            assert status == 200, body
        finally:
            await service.stop()
    store = await TicketStore.open(f"sqlite+aiosqlite:///{db}")
    try:
        assert await store.count_calls() == len(expected)
    finally:
        await store.close()
