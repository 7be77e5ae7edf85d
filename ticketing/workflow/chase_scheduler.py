"""The chase sweep on a timer, inside the service: every ``interval`` it asks the store to
chase what is due and publishes a ``case.chased`` (and ``case.escalated``) event per chase
done. Its state is in the database (``case_chases``), never in memory: a restart or the
standby taking over simply sweeps again. A failed sweep (the database down) is logged and the
next one retries; nothing is lost because nothing was decided yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from events.topics import CASE_CHASED, CASE_ESCALATED

log = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any]], None]


class ChaseStore(Protocol):
    def sweep_chases(
        self, now: datetime, due_soon: timedelta
    ) -> Awaitable[list[dict[str, Any]]]: ...


class ChaseScheduler:
    def __init__(
        self,
        store: ChaseStore,
        publish: Publish,
        *,
        interval: float = 60.0,
        due_soon: timedelta = timedelta(hours=4),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._publish = publish
        self._interval = interval
        self._due_soon = due_soon
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self.sweeps = 0
        self.chases = 0
        self.last_error: str | None = None
        # Set after every attempt, failed or not: whoever waits for the next sweep (a test,
        # a status page) awaits it instead of polling.
        self.attempted = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="chase-scheduler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def sweep(self) -> list[dict[str, Any]]:
        """One sweep now: the chases done, each published."""
        notices = await self._store.sweep_chases(self._clock(), self._due_soon)
        for notice in notices:
            escalated = bool(notice.pop("escalated", False))
            self._publish(CASE_CHASED, dict(notice))
            if escalated:
                self._publish(CASE_ESCALATED, dict(notice))
        self.sweeps += 1
        self.chases += len(notices)
        return notices

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
                self.last_error = None
            except Exception as error:  # the database down, most likely: try again later
                self.last_error = str(error) or type(error).__name__
                log.warning("chase sweep failed (retried in %.0f s): %s", self._interval, error)
            self.attempted.set()
            await asyncio.sleep(self._interval)

    def status(self) -> dict[str, Any]:
        """The /healthz component: a failing sweep is a warning, calls still flow."""
        status: dict[str, Any] = {"ok": True, "sweeps": self.sweeps, "chases": self.chases}
        if self.last_error is not None:
            status["warning"] = f"last chase sweep failed: {self.last_error}"
        return status
