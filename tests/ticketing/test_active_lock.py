"""The active-service lock on a real PostgreSQL: one holder; a broken holder is noticed."""

from __future__ import annotations

import asyncio

import asyncpg

from ticketing.active_lock import ACTIVE_LOCK_KEY, ActiveLock


def _lock(url: str) -> ActiveLock:
    lock = ActiveLock.for_url(url, retry_interval=0.05, check_interval=0.05)
    assert lock is not None
    return lock


async def _holder_pid(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        pid = await connection.fetchval(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted",
            ACTIVE_LOCK_KEY,
        )
        assert pid is not None
        return int(pid)
    finally:
        await connection.close()


def test_sqlite_has_no_lock_and_no_standby() -> None:
    assert ActiveLock.for_url("sqlite+aiosqlite:///hotline.sqlite3") is None


async def test_one_holder_until_it_releases(postgres_url: str) -> None:
    first, second = _lock(postgres_url), _lock(postgres_url)
    try:
        assert await first.try_acquire()
        assert first.status()["role"] == "active"
        assert not await second.try_acquire()
        assert second.status()["role"] == "standby"
        waiting = asyncio.create_task(second.acquire(asyncio.Event()))
        assert not await second.try_acquire()  # retries keep failing while it is held
        await first.release()
        assert await asyncio.wait_for(waiting, 10)
        assert second.held and not first.held
    finally:
        await first.release()
        await second.release()


async def test_a_broken_lock_connection_is_noticed_and_the_lock_moves_on(
    postgres_url: str,
) -> None:
    first, second = _lock(postgres_url), _lock(postgres_url)
    dsn = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        assert await first.try_acquire()
        lost = asyncio.create_task(first.wait_lost())
        # The server ends the holder's session (as a restart or a network cut would).
        admin = await asyncpg.connect(dsn)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", await _holder_pid(dsn))
        finally:
            await admin.close()
        await asyncio.wait_for(lost, 10)
        assert not first.held and first.status()["role"] == "standby"
        assert "lock connection lost" in (first.status()["last_error"] or "")
        assert await asyncio.wait_for(second.acquire(asyncio.Event()), 10)
    finally:
        await first.release()
        await second.release()


async def test_stop_ends_the_wait_of_a_standby(postgres_url: str) -> None:
    first, second = _lock(postgres_url), _lock(postgres_url)
    stop = asyncio.Event()
    try:
        assert await first.try_acquire()
        waiting = asyncio.create_task(second.acquire(stop))
        stop.set()
        assert await asyncio.wait_for(waiting, 10) is False
    finally:
        await first.release()
        await second.release()


async def test_an_unreachable_server_leaves_a_standby_waiting_with_the_reason() -> None:
    lock = ActiveLock.for_url("postgresql+asyncpg://hotline:pw@127.0.0.1:1/hotline")
    assert lock is not None
    assert not await lock.try_acquire()
    status = lock.status()
    assert status["role"] == "standby" and status["last_error"]
    assert "pw" not in status["last_error"]
