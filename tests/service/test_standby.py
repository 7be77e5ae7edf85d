"""Two `hotline serve` processes on one PostgreSQL: one active, one standby. A SIGKILL of the
active one under live traffic hands over to the standby, which resynchronises from AMI,
queue_log and cdr_csv: every call the PBX finished is stored exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from hotline.demo_model import demo_model
from hotline.service import HotlineService
from hotline.sim.actions import attach
from hotline.sim.ami_server import AmiServer
from hotline.sim.traffic import Simulation
from hotline.standby import StandbyHealth, run_active_or_standby
from ticketing.active_lock import ACTIVE_LOCK_KEY, ActiveLock

from .helpers import answer_as_idle_pbx, service_settings

# The processes run on the PBX's clock, which starts at the wall clock's whole minute: their
# queue_log history window is counted back from it.
START = float(int(time.time()) // 60 * 60)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServeProcess:
    """One `hotline serve` OS process with its own web port and spill file."""

    def __init__(self, name: str, config: Path, tmp_path: Path) -> None:
        self.name = name
        self.port = _free_port()
        self.env = {
            **os.environ,
            "HOTLINE_CONFIG": str(config),
            "HOTLINE_AMI__SECRET": "hotline-secret",
            "HOTLINE_WEB__PORT": str(self.port),
            "HOTLINE_DATABASE__SPILL_PATH": str(tmp_path / f"{name}.spill.jsonl"),
        }
        self.process: asyncio.subprocess.Process | None = None
        self.log = tmp_path / f"{name}.log"

    async def start(self) -> None:
        with self.log.open("wb") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "hotline", "serve", env=self.env, stdout=out, stderr=out
            )

    async def health(self) -> tuple[int, dict[str, Any]] | None:
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                    return response.status, await response.json()
        except aiohttp.ClientError:
            return None

    async def role(self) -> str | None:
        answer = await self.health()
        if answer is None:
            return None
        status, body = answer
        if status == 503 and body.get("role") == "standby":
            return "standby"
        lock = body.get("components", {}).get("active_lock", {})
        return str(lock.get("role")) if lock else None

    async def wait_role(self, role: str, timeout: float = 60) -> None:  # noqa: ASYNC109
        async def poll() -> None:
            while await self.role() != role:  # noqa: ASYNC110 -- another process answers
                await asyncio.sleep(0.1)

        await asyncio.wait_for(poll(), timeout)

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")[-4000:]


def _queue_status_actions(server: AmiServer) -> int:
    return sum(1 for action in server.actions_seen if action.get("Action") == "QueueStatus")


async def _stored(dsn: str) -> list[dict[str, Any]]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT pbx, key, uniqueid, queue, outcome, recovered FROM call_records"
        )
    except asyncpg.UndefinedTableError:
        return []
    finally:
        await connection.close()
    return [dict(row) for row in rows]


async def _until_stored(dsn: str, count: int, timeout: float = 60) -> list[dict[str, Any]]:  # noqa: ASYNC109
    """The stored calls once there are ``count`` (or what there is after ``timeout``)."""

    async def poll() -> None:
        while len(await _stored(dsn)) < count:  # noqa: ASYNC110 -- another process writes
            await asyncio.sleep(0.2)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(poll(), timeout)
    return await _stored(dsn)


async def test_sigkill_of_the_active_hands_over_and_loses_no_call(
    tmp_path: Path, postgres_url: str
) -> None:
    dsn = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    async with AmiServer(secret="hotline-secret", badauth_delay=0) as server:
        sim = Simulation(
            demo_model(calls_per_hour=900, agents=6),
            seed=11,
            queue_log_path=tmp_path / "queue_log",
            cdr_path=tmp_path / "cdr-csv" / "Master.csv",
            start=START,
        )
        pump = attach(sim.pbx, server)
        config = tmp_path / "hotline.toml"
        config.write_text(
            f"[ami]\nport = {server.port}\naction_timeout = 0.5\n"
            "reconnect_min = 0.05\nreconnect_max = 0.2\n"
            f'[database]\nurl = "{postgres_url}"\nretry_interval = 0.1\n'
            f'[asterisk]\nqueue_log = "{tmp_path / "queue_log"}"\n'
            f'cdr_csv = "{tmp_path / "cdr-csv" / "Master.csv"}"\n'
            f'[ivr]\nport = 0\n[pbx]\nannouncements_file = "{tmp_path / "ann.json"}"\n'
        )
        first = ServeProcess("first", config, tmp_path)
        second = ServeProcess("second", config, tmp_path)
        try:
            await first.start()
            await first.wait_role("active")
            await server.wait_until(lambda: server.logged_in_clients == 1, timeout=30)
            await second.start()
            await second.wait_role("standby")
            # The standby does not follow the PBX: one AMI client, the active one's.
            assert server.logged_in_clients == 1

            # Live traffic, stored by the active process.
            for _ in range(10):
                sim.run_for(30)
                await pump.flush()
            assert await _until_stored(dsn, 1)
            in_flight = sum(1 for truth in sim.truths if truth.outcome is None)

            assert first.process is not None
            # Until the gap's traffic is played, no login is answered: the standby takes the
            # lock at once, but what it finds is a PBX that went on without anyone listening.
            server.pause_responses = True
            first.process.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            await first.process.wait()
            await server.wait_until(lambda: server.logged_in_clients == 0, timeout=30)
            # Asterisk goes on: calls are answered, abandoned and hung up with nobody listening.
            for _ in range(4):
                sim.run_for(30)
                await pump.flush()
            resyncs = _queue_status_actions(server)
            server.pause_responses = False

            await second.wait_role("active", timeout=60)
            await server.wait_until(lambda: server.logged_in_clients == 1, timeout=30)
            takeover_s = time.monotonic() - killed_at
            # The resync's snapshot is taken from a PBX at rest (the simulator answers actions
            # from its current state); live traffic goes on after it.
            await server.wait_until(lambda: _queue_status_actions(server) > resyncs, timeout=30)

            for _ in range(6):
                sim.run_for(30)
                await pump.flush()
            sim.drain()
            await pump.flush()
            finished = [truth for truth in sim.truths if truth.outcome is not None]
            stored = await _until_stored(dsn, len(finished))
        finally:
            for serve in (first, second):
                if serve.process is not None and serve.process.returncode is None:
                    serve.process.send_signal(signal.SIGTERM)
                    await asyncio.wait_for(serve.process.wait(), 30)
            await pump.close()
            sim.close()

    print(f"standby took over {takeover_s:.1f} s after the SIGKILL")
    assert in_flight, "calls should have been in progress at the SIGKILL"
    assert second.process is not None and second.process.returncode == 0, second.output()
    # Exactly once: as many rows as finished calls, each leg once, each finished call there.
    assert max(Counter((row["pbx"], row["key"]) for row in stored).values()) == 1
    by_leg = Counter((row["uniqueid"], row["queue"], row["outcome"]) for row in stored)
    missing = [t.to_expected() for t in finished if by_leg[(t.uniqueid, t.queue, t.outcome)] != 1]
    assert missing == []
    assert len(stored) == len(finished), second.output()
    assert any(row["recovered"] for row in stored), "calls ended while nobody was active"


async def test_an_active_service_that_loses_its_lock_stops_acting(
    tmp_path: Path, postgres_url: str
) -> None:
    dsn = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    async with AmiServer(secret="hotline-secret", badauth_delay=0) as server:
        answer_as_idle_pbx(server)
        settings = service_settings(tmp_path, server.port, postgres_url)
        lock = ActiveLock.for_url(postgres_url, retry_interval=0.05, check_interval=0.05)
        assert lock is not None
        services: list[HotlineService] = []

        def make_service() -> HotlineService:
            services.append(HotlineService(settings))
            return services[-1]

        stop = asyncio.Event()
        standby = StandbyHealth("127.0.0.1", 0, lock)
        runner = asyncio.create_task(run_active_or_standby(lock, make_service, stop, standby))
        # Another process queues for the lock (blocking): it gets it the moment it is free,
        # before the service that lost it could take it back.
        other = await asyncpg.connect(dsn)
        try:
            await server.wait_until(lambda: server.logged_in_clients == 1, timeout=30)
            queued = asyncio.create_task(
                other.fetchval("SELECT pg_advisory_lock($1)", ACTIVE_LOCK_KEY)
            )
            await asyncio.wait_for(_lock_waiters(dsn, 1), 10)
            # The server ends the lock's session (as a restart or a network cut would).
            admin = await asyncpg.connect(dsn)
            try:
                pid = await admin.fetchval(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 "
                    "AND granted",
                    ACTIVE_LOCK_KEY,
                )
                assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
            finally:
                await admin.close()
            await asyncio.wait_for(queued, 10)
            # No two actives: the service stopped following the PBX and waits again.
            await server.wait_until(lambda: server.logged_in_clients == 0, timeout=30)
            assert len(services) == 1
            await asyncio.wait_for(_until(lambda: standby.port is not None), 10)
            async with aiohttp.ClientSession() as session:
                url = f"http://127.0.0.1:{standby.port}/healthz"
                async with session.get(url) as response:
                    assert response.status == 503
                    assert (await response.json())["role"] == "standby"
            # And it becomes active again once the lock is free.
            await other.fetchval("SELECT pg_advisory_unlock($1)", ACTIVE_LOCK_KEY)
            await server.wait_until(lambda: server.logged_in_clients == 1, timeout=30)
            assert len(services) == 2
        finally:
            stop.set()
            await asyncio.wait_for(runner, 30)
            await other.close()


async def _lock_waiters(dsn: str, count: int) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        query = (
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 "
            "AND NOT granted"
        )
        while await connection.fetchval(query, ACTIVE_LOCK_KEY) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    finally:
        await connection.close()


async def _until(predicate: Callable[[], bool]) -> None:
    while not predicate():  # noqa: ASYNC110 -- a plain attribute, bounded by the caller
        await asyncio.sleep(0.01)
