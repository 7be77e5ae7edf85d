"""Retention of recordings: a job that deletes recordings and call-back messages older than
``recordings.retention_days`` and logs each file it removed (the service log and the access
log, actor ``retention``), so an auditor can tell a deleted recording from a lost one.

Only what the dialplan writes is touched: ``hotline-*.wav`` (MixMonitor) and
``callback-*.wav`` (the IVR's call-back message) directly in a recordings directory, regular
files only (a symlink is skipped: it could point anywhere). A file's age is its modification
time — MixMonitor's last write, the end of the call — on the wall clock, the clock the file
system uses (not the demo's simulated one). A file that cannot be deleted is logged and tried
again next run; the job never stops the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hotline.recording_files import RecordingFiles

log = logging.getLogger(__name__)

RECORDING_NAMES = re.compile(r"(hotline|callback)-[A-Za-z0-9._-]+\.wav")
ACTOR = "retention"

# (actor, role, action, target, detail) → the access log (ticketing's log_access).
Audit = Callable[[str, str, str, str | None, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Removed:
    path: Path
    modified: datetime
    size: int


class RetentionJob:
    def __init__(
        self,
        files: RecordingFiles,
        days: int,
        audit: Audit,
        *,
        interval_s: float = 3600.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if days < 1:
            raise ValueError("retention days must be at least 1 (0 means: do not run the job)")
        self.files = files
        self.keep = timedelta(days=days)
        self.audit = audit
        self.interval_s = interval_s
        self.clock = clock
        self.runs = 0
        self.removed = 0
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None

    def expired(self) -> list[Removed]:
        """The files a run would delete now, oldest first."""
        cutoff = self.clock() - self.keep
        found: list[Removed] = []
        for root in self.files.roots:
            try:
                entries = list(root.iterdir())
            except FileNotFoundError:
                # No PBX on this machine has recorded yet (a demo, a fresh install): nothing
                # is expired, and a warning every run would be noise.
                log.debug("retention: %s does not exist yet", root)
                continue
            except OSError as error:
                log.warning("retention: cannot list %s: %s", root, error)
                continue
            for path in entries:
                if not RECORDING_NAMES.fullmatch(path.name) or path.is_symlink():
                    continue
                try:
                    stat = path.stat()
                except OSError:
                    continue  # gone meanwhile
                modified = datetime.fromtimestamp(stat.st_mtime, UTC)
                if path.is_file() and modified < cutoff and self.files.within(path):
                    found.append(Removed(path, modified, stat.st_size))
        return sorted(found, key=lambda item: item.modified)

    async def run_once(self) -> list[Removed]:
        """Delete the expired files now; returns those removed (each one logged)."""
        removed: list[Removed] = []
        for item in self.expired():
            try:
                item.path.unlink()
            except FileNotFoundError:
                continue
            except OSError as error:
                log.warning("retention: cannot delete %s (next run retries): %s", item.path, error)
                continue
            removed.append(item)
            log.info(
                "retention: deleted %s (modified %s, %d bytes)",
                item.path, item.modified.isoformat(), item.size,
            )  # fmt: skip
            detail = {"modified": item.modified.isoformat(), "bytes": item.size,
                      "kept_days": self.keep.days}  # fmt: skip
            await self.audit(ACTOR, "system", "recording.expired", str(item.path), detail)
        self.runs += 1
        self.removed += len(removed)
        return removed

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="recording-retention")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
                self.last_error = None
            except Exception as error:  # the access log unwritable: retried next run
                self.last_error = str(error) or type(error).__name__
                log.warning("retention run failed (retried in %.0f s): %s", self.interval_s, error)
            await asyncio.sleep(self.interval_s)  # a period, not a wait for a condition

    def status(self) -> dict[str, Any]:
        """The /healthz component: a failing run is a warning, calls still flow."""
        status: dict[str, Any] = {"ok": True, "runs": self.runs, "removed": self.removed}
        if self.last_error is not None:
            status["warning"] = f"last retention run failed: {self.last_error}"
        return status
