"""Keeps an IVR's blocked callers (ivr.blocklist) equal to the database's active blocklist,
by polling like the incidents (hotline/ivr_process.py): any number of IVR processes, on any
host that reaches the database, see a number blocked within a second or two, and nothing is
missed while one restarts — each read is the whole (small) active list, not a change feed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from ivr.blocklist import BlockedCallers, BlockedNumber
from ticketing.blocklist import NumberBlocklist

log = logging.getLogger(__name__)

BLOCKLIST_POLL_S = 1.0


class BlocklistPoller:
    def __init__(
        self,
        blocklist: NumberBlocklist,
        callers: BlockedCallers,
        *,
        interval: float = BLOCKLIST_POLL_S,
    ) -> None:
        self.blocklist = blocklist
        self.callers = callers
        self.interval = interval
        self.ok = False
        self.refreshes = 0
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> None:
        """One read of the active entries onto the IVR's copy (raises if the store fails)."""
        rows = await self.blocklist.entries(now=datetime.now(UTC))
        before = len(self.callers)
        self.callers.replace(
            BlockedNumber(row["id"], row["number"], datetime.fromisoformat(row["expires_at"]))
            for row in rows
        )
        if len(self.callers) != before:
            log.info("blocklist: %d number(s) blocked", len(self.callers))
        self.refreshes += 1

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ivr-blocklist")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as error:
                # The IVR keeps the list it had: blocked numbers stay blocked meanwhile.
                if self.ok:
                    log.warning("blocklist not read from the database (%s); retrying", error)
                self.ok = False
            else:
                self.ok = True
            await asyncio.sleep(self.interval)  # a period, not a wait for a condition

    def status(self) -> dict[str, object]:
        """The /healthz component: a failing read is a warning, calls still flow."""
        status: dict[str, object] = {"ok": True, "blocked": len(self.callers)}
        if not self.ok and self.refreshes == 0:
            status["warning"] = "the blocklist has not been read from the database yet"
        elif not self.ok:
            status["warning"] = "the blocklist is not being read; the last copy is used"
        return status
