"""The rollup refresher inside the service: a refresh pass (refresh.py) every ``interval``
seconds, so the hours that calls and cases touched are summed again soon after they end.

It runs where the service runs, and the service runs on the active instance only (a standby
waits for the active lock without starting it: hotline/standby.py), so two instances never
rebuild the same hours. Nothing is kept in memory: what to rebuild is in ``rollup_dirty`` and
``rollup_built``, so a restart or a takeover simply carries on. A failed pass (the database
down) is retried with the project's backoff (retry_policy) and, given up, waits for the next
interval; a pass rolls back whole, losing no mark. Reports never wait for it: an hour not
rebuilt yet is read raw.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from retry_policy import Backoff, retry
from ticketing.reports import Thresholds
from ticketing.rollup import refresh
from ticketing.rollup.build_lock import building
from ticketing.rollup.refresh import Refreshed

log = logging.getLogger(__name__)

# Attempts of one pass before it waits for the next interval (the first failure is logged as
# a warning, giving up as an error: retry_policy.retry).
ATTEMPTS = 3
# How long stop() lets a running pass finish before cancelling it (its transaction rolls
# back, the marks stay).
STOP_GRACE_S = 5.0


class Refresh(Protocol):
    def __call__(
        self, engine: AsyncEngine, thresholds: Thresholds, *, now: datetime, budget_hours: int
    ) -> Awaitable[Refreshed]: ...


class RollupRefresher:
    """``start()``, ``await stop()``; ``status()`` for /healthz; ``await wait_until(...)``."""

    def __init__(
        self,
        engine: AsyncEngine,
        thresholds: Thresholds,
        *,
        interval: float = 60.0,
        budget_hours: int = 48,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        backoff: Backoff | None = None,
        attempts: int = ATTEMPTS,
        run: Refresh = refresh.refresh,
        stop_grace: float = STOP_GRACE_S,
    ) -> None:
        if interval <= 0:
            raise ValueError("the refresh interval must be positive (0 means: do not start it)")
        self._engine = engine
        self._thresholds = thresholds
        self._interval = interval
        self._budget = budget_hours
        self._clock = clock
        # Retries a few seconds apart, never longer apart than the interval itself.
        self._backoff = backoff or Backoff(min(2.0, interval), interval)
        self._attempts = attempts
        self._run = run
        self._stop_grace = stop_grace
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Notified after every attempt, failed or not: a test or a status page awaits the
        # next pass instead of polling.
        self._changed = asyncio.Condition()
        self.passes = 0  # passes done
        self.skipped = 0  # passes skipped while another process built the rollups
        self.failures = 0  # attempts failed
        self.hours = 0  # hours rebuilt since start
        self.days = 0  # days rolled since start
        self.left: int | None = None  # hours still waiting after the last pass
        self.last_error: str | None = None

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(), name="rollup-refresher")

    async def stop(self) -> None:
        """Let a running pass finish (``stop_grace`` seconds at most), then end the task."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), self._stop_grace)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> Refreshed | None:
        """One pass now (no retry): the hours rebuilt, days rolled, hours left; None when
        ``hotline rollup build`` is building them meanwhile (build_lock)."""
        async with building(self._engine, wait=False) as held:
            if not held:
                self.skipped += 1
                log.info("rollups: a build by another process is running; pass skipped")
                return None
            done = await self._run(
                self._engine, self._thresholds, now=self._clock(), budget_hours=self._budget
            )
        self.passes += 1
        self.hours += done.hours
        self.days += done.days
        self.left = done.left
        self.last_error = None
        if done.hours or done.days:
            log.info("rollups: rebuilt %d hours, rolled %d days, %d hours waiting",
                     done.hours, done.days, done.left)  # fmt: skip
        return done

    async def _attempt(self) -> Refreshed | None:
        if self._stopping.is_set():
            return None
        try:
            return await self.run_once()
        except Exception as error:
            self.failures += 1
            self.last_error = f"{type(error).__name__}: {error}"
            raise
        finally:
            async with self._changed:
                self._changed.notify_all()

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the refresher is being stopped."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            # retry logs each failure and never raises: the service goes on without rollups.
            await retry(self._attempt, self._backoff, attempts=self._attempts,
                        what="the rollup refresh", log=log, sleep=self._pause)  # fmt: skip
            await self._pause(self._interval)  # a period, not a wait for a condition

    async def wait_until(
        self,
        predicate: Callable[[RollupRefresher], bool],
        timeout: float,  # noqa: ASYNC109
    ) -> None:
        """Return once ``predicate(self)`` holds (checked after each attempt); TimeoutError
        after ``timeout`` seconds."""

        async def condition() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: predicate(self))

        await asyncio.wait_for(condition(), timeout)

    def status(self) -> dict[str, Any]:
        """The /healthz component: a failing refresh is a warning (reports read raw rows)."""
        status: dict[str, Any] = {"ok": True, "passes": self.passes, "hours": self.hours,
                                  "days": self.days, "waiting": self.left,
                                  "skipped": self.skipped}  # fmt: skip
        if self.last_error is not None:
            status["warning"] = f"last rollup refresh failed: {self.last_error}"
        return status
