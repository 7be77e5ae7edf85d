"""Which of several service processes on one PostgreSQL database is the active one.

The active process holds a session-level advisory lock (``pg_try_advisory_lock``) on a
connection of its own, kept open for as long as it is active: when the process dies (even by
SIGKILL) the server ends the session and the lock is free for a standby to take. A standby
retries every ``retry_interval`` seconds.

The holder pings its lock connection every ``check_interval`` seconds; if the connection
breaks (server restarted, backend terminated, network gone) the lock may be someone else's
by now, so ``wait_lost`` returns and the caller must stop acting at once. Between the loss and
its detection (one interval) two processes may both act; the store's idempotent keys make a
call they both store count once.

SQLite has no such lock and no standby: ``for_url`` returns None for it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

# An arbitrary constant, apart from the migration (…345) and survey (…346) lock keys: the
# advisory lock key of "the active hotline service" (advisory locks
# are per database, so two hotline databases on one server do not interfere).
ACTIVE_LOCK_KEY = 1_234_512_350
CONNECT_TIMEOUT_S = 5.0


class ActiveLock:
    """``await acquire(stop)`` (standby until then), ``await wait_lost()``, ``await release()``."""

    def __init__(
        self,
        dsn: str,
        *,
        key: int = ACTIVE_LOCK_KEY,
        retry_interval: float = 1.0,
        check_interval: float = 1.0,
    ) -> None:
        self._dsn = dsn
        self._key = key
        self.retry_interval = retry_interval
        self.check_interval = check_interval
        self._connection: asyncpg.Connection | None = None
        self.role = "standby"
        self.last_error: str | None = None

    @classmethod
    def for_url(cls, url: str, **options: Any) -> ActiveLock | None:
        """The lock for a store URL; None for SQLite (one process, no standby)."""
        parsed = make_url(url)
        if parsed.get_backend_name() != "postgresql":
            return None
        dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        return cls(dsn, **options)

    @property
    def held(self) -> bool:
        return self._connection is not None

    def status(self) -> dict[str, Any]:
        """For /healthz: the role, and why the lock could not be tried if it could not."""
        return {"role": self.role, "ok": True, "last_error": self.last_error}

    async def try_acquire(self) -> bool:
        """One attempt: True when this process now holds the lock."""
        if self._connection is not None:
            return True
        try:
            connection = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT_S)
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            self.last_error = f"{type(error).__name__}: {error}"
            return False
        try:
            got = await connection.fetchval("SELECT pg_try_advisory_lock($1)", self._key)
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            self.last_error = f"{type(error).__name__}: {error}"
            got = False
        if not got:
            await _close(connection)
            return False
        self._connection = connection
        self.role = "active"
        self.last_error = None
        return True

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until the lock is ours (True) or ``stop`` is set (False)."""
        while not stop.is_set():
            if await self.try_acquire():
                return True
            try:
                await asyncio.wait_for(stop.wait(), self.retry_interval)
            except TimeoutError:
                continue
        return False

    async def wait_lost(self) -> None:
        """Return when the lock connection broke: this process is no longer the active one."""
        while self._connection is not None:
            await asyncio.sleep(self.check_interval)
            connection = self._connection
            if connection is None:
                return
            try:
                await connection.fetchval("SELECT 1", timeout=self.check_interval * 3)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
                self.last_error = f"lock connection lost: {type(error).__name__}: {error}"
                log.error("active lock: %s; stopping to act", self.last_error)
                self._connection = None
                self.role = "standby"
                await _close(connection)
                return

    async def release(self) -> None:
        """Give the lock up (closing the session frees it) and go back to standby."""
        connection, self._connection = self._connection, None
        self.role = "standby"
        if connection is not None:
            await _close(connection)


async def _close(connection: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(connection.close(), CONNECT_TIMEOUT_S)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        connection.terminate()
