"""Buffered, outage-proof writing of finished call records to the ticket store.

``submit()`` is called from the call tracker's hot path: it never blocks on the database and
never raises. A background task writes batches. While the database is unreachable, records
wait in a bounded in-memory buffer and the write is retried with exponential backoff; records
that do not fit go to a JSONL spill file (written by a worker thread, so a slow disk never
stalls the event loop), which is replayed first when the database returns
(and at the next start, if the process stopped before that). Saving is idempotent by record
key, so replaying something already stored is harmless. A record the store refuses as
malformed is not retried forever: it is logged and kept in a ``.rejected`` JSONL file beside
the spill file, so nothing a citizen said is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import exc as sa_exc

from retry_policy import Backoff

log = logging.getLogger(__name__)

# PostgreSQL SQLSTATE classes meaning "the server, not the data": 08 connection exception,
# 53 insufficient resources, 57 operator intervention (shutdown, restart, cancel).
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")


class CallSink(Protocol):
    """What the writer needs of a store (``TicketStore`` has it)."""

    async def save_calls(self, records: Sequence[Mapping[str, Any]]) -> int: ...

    async def ping(self) -> bool: ...


def is_unavailable(error: BaseException) -> bool:
    """True when ``error`` says the database cannot be reached, not that the data is bad."""
    if isinstance(error, OSError | TimeoutError | ConnectionError):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError):
            return True
        sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES:
            return True
    if isinstance(error, sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return True
    cause = error.__cause__ or error.__context__
    return cause is not None and cause is not error and is_unavailable(cause)


@dataclass(slots=True)
class _Batch:
    records: list[dict[str, Any]]
    from_spill: bool
    next_offset: int = 0  # for spill batches: where the file continues after this batch


class BufferedCallWriter:
    """Writes submitted call records in the background; see the module docstring."""

    def __init__(
        self,
        store: CallSink,
        max_buffer: int,
        retry_interval: float,
        spill_path: str | os.PathLike[str] = "hotline-calls.spill.jsonl",
        *,
        batch_size: int = 200,
        max_retry_interval: float = 30.0,
        write_timeout: float = 30.0,
    ) -> None:
        if max_buffer < 1:
            raise ValueError("max_buffer must be at least 1")
        if retry_interval <= 0:
            raise ValueError("retry_interval must be positive")
        self._store = store
        self._max_buffer = max_buffer
        # Retries while the database is down: retry_interval, doubling up to the maximum.
        self._retry = Backoff(retry_interval, max(max_retry_interval, retry_interval), jitter=False)
        self._batch_size = max(1, batch_size)
        self._write_timeout = write_timeout
        self.spill_path = Path(spill_path)
        # The spill file is renamed to this while it is replayed, so new overflow can go to a
        # fresh spill file meanwhile.
        self.replay_path = self.spill_path.with_name(self.spill_path.name + ".replaying")
        self.rejected_path = self.spill_path.with_name(self.spill_path.name + ".rejected")
        self._buffer: deque[dict[str, Any]] = deque()
        self._replay_offset = 0
        self._spilled = self._count_lines(self.spill_path) + self._count_lines(self.replay_path)
        # Overflow on its way to the spill file: queued, and the batch being written.
        self._to_spill: list[dict[str, Any]] = []
        self._spilling: list[dict[str, Any]] = []
        self._spill_task: asyncio.Task[None] | None = None
        self._in_flight = 0
        self._db_ok = True
        self._last_error: str | None = None
        self._written = 0
        self._inserted = 0
        self._rejected = 0
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    # -- the producer side ---------------------------------------------------------------

    def submit(self, record: Mapping[str, Any]) -> None:
        """Queue a finished call record for writing. Never blocks on the database, never raises.

        ``record`` is ``CallRecord.to_json()``; an object with a ``to_json()`` method is
        converted here.
        """
        try:
            to_json = getattr(record, "to_json", None)
            item = dict(to_json() if callable(to_json) else record)
            if self._stopping.is_set():
                self._spill([item])  # stopped: no task to hand it to
            elif len(self._buffer) >= self._max_buffer:
                self._spill_later(item)
            else:
                self._buffer.append(item)
            self._wake.set()
            self._ensure_started()
        except Exception:  # the hot path must survive even a disk full
            log.exception("could not queue call record %.300r", record)

    def start(self) -> None:
        """Start the background task (needs a running event loop). ``submit`` also does it."""
        self._ensure_started()

    def _ensure_started(self) -> None:
        if self._task is not None or self._stopping.is_set():
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: records wait in the buffer until start()
        self._task = asyncio.create_task(self._run(), name="call-writer")
        if self._spilled:
            self._wake.set()

    # -- health ----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """For /healthz: is the database reachable, what is waiting, what went wrong last.

        A store that can tell at once that its file is gone (``file_problem``, SQLite) is
        reported down without waiting for the next call to fail.
        """
        check = getattr(self._store, "file_problem", None)
        problem = check() if callable(check) else None
        return {
            "db_ok": self._db_ok and problem is None,
            "buffered": len(self._buffer),
            "spilled": self._spilled + len(self._to_spill) + len(self._spilling),
            "last_error": problem or self._last_error,
            "written": self._written,
            "inserted": self._inserted,
            "rejected": self._rejected,
        }

    @property
    def pending(self) -> int:
        return len(self._buffer) + self._spilled + len(self._to_spill) + len(self._spilling)

    async def wait_until(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Wait until ``predicate(status())`` holds; TimeoutError after ``timeout`` seconds."""

        async def condition() -> dict[str, Any]:
            async with self._changed:
                await self._changed.wait_for(lambda: predicate(self.status()))
                return self.status()

        return await asyncio.wait_for(condition(), timeout)

    async def flush(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until everything submitted so far is stored; False if ``timeout`` ran out."""
        self._ensure_started()
        self._wake.set()
        try:
            await self.wait_until(lambda _: self.pending == 0 and self._in_flight == 0, timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Write what can be written within ``timeout``, spill the rest to disk, stop."""
        if self._task is not None:
            await self.flush(timeout)
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._spill_task is not None:
            await self._spill_task  # never raises: a failed write leaves its records queued
        leftover = self._to_spill + list(self._buffer)
        self._to_spill = []
        self._buffer.clear()
        if leftover:
            # Kept on disk, replayed by the next writer on the same spill path.
            await asyncio.to_thread(self._write_spill, leftover)
            self._count_spilled(leftover)
        await self._notify()

    # -- the background task ---------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping.is_set():
            batch = self._next_batch()
            if batch is None:
                self._wake.clear()
                await self._notify()
                await self._wake.wait()
                continue
            self._in_flight = len(batch.records)
            try:
                await self._write(batch)
            except Exception as error:
                self._in_flight = 0
                await self._on_failure(error)
                await self._backoff()
                continue
            self._commit(batch)
            self._in_flight = 0
            self._retry.succeeded()
            self._db_ok = True
            await self._notify()

    def _next_batch(self) -> _Batch | None:
        # The spill holds the oldest records: replay it before the in-memory buffer. Not while
        # the worker thread appends to it: the file is renamed when its replay begins.
        if self._spilled and not self._spilling:
            batch = self._read_spill_batch()
            if batch is not None:
                return batch
        if self._buffer:
            count = min(self._batch_size, len(self._buffer))
            return _Batch([self._buffer[index] for index in range(count)], from_spill=False)
        return None

    async def _write(self, batch: _Batch) -> None:
        try:
            inserted = await asyncio.wait_for(
                self._store.save_calls(batch.records), self._write_timeout
            )
        except Exception as error:
            if not await self._is_bad_data(error):
                raise
            # The data, not the database: write the records one by one, set aside the bad ones.
            log.warning(
                "batch of %d call records refused (%s); isolating", len(batch.records), error
            )
            inserted = 0
            for record in batch.records:
                inserted += await self._write_one(record)
        self._written += len(batch.records)
        self._inserted += inserted
        self._last_error = None

    async def _write_one(self, record: dict[str, Any]) -> int:
        try:
            return await asyncio.wait_for(self._store.save_calls([record]), self._write_timeout)
        except Exception as error:
            if not await self._is_bad_data(error):
                raise
            self._reject(record, error)
            return 0

    async def _is_bad_data(self, error: BaseException) -> bool:
        # Anything else (no table, permissions, an unknown failure) is retried, never dropped.
        if not isinstance(error, ValueError | TypeError | sa_exc.IntegrityError | sa_exc.DataError):
            return False
        return not is_unavailable(error) and await self._alive()

    async def _alive(self) -> bool:
        try:
            return await asyncio.wait_for(self._store.ping(), self._write_timeout)
        except Exception:
            return False

    def _commit(self, batch: _Batch) -> None:
        if not batch.from_spill:
            for _ in batch.records:
                self._buffer.popleft()
            return
        self._spilled -= len(batch.records)
        self._replay_offset = batch.next_offset
        if self._replay_offset >= self._file_size(self.replay_path):
            self.replay_path.unlink(missing_ok=True)
            self._replay_offset = 0
            if not self._spilling:  # else the thread's batch is counted when it is written
                self._spilled = self._count_lines(self.spill_path)

    async def _on_failure(self, error: BaseException) -> None:
        # Report once the overflow handed over so far is on disk: what status() then calls
        # spilled is in the file (bounded: a stalled disk must not stall the retries).
        task = self._spill_task
        if task is not None and not task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), self._write_timeout)
        self._db_ok = False
        self._last_error = f"{type(error).__name__}: {error}".splitlines()[0][:500]
        log.warning(
            "database unavailable, %d call records waiting (%d spilled): %s",
            self.pending,
            self._spilled,
            self._last_error,
        )
        await self._notify()

    async def _backoff(self) -> None:
        delay = self._retry.next_delay()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), delay)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- the spill file --------------------------------------------------------------------

    def _spill(self, records: list[dict[str, Any]]) -> None:
        """Write to the spill file now (stopped: there is no task to hand it to)."""
        self._write_spill(records)
        self._count_spilled(records)

    def _spill_later(self, record: dict[str, Any]) -> None:
        """Hand an overflowing record to the spill task: ``submit`` must not wait on a disk."""
        self._to_spill.append(record)
        if self._spill_task is not None and not self._spill_task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop: nothing else would ever write it
            records, self._to_spill = self._to_spill, []
            self._spill(records)
            return
        self._spill_task = loop.create_task(self._spill_in_background(), name="call-spill")

    async def _spill_in_background(self) -> None:
        while self._to_spill:
            self._spilling, self._to_spill = self._to_spill, []
            try:
                await asyncio.to_thread(self._write_spill, self._spilling)
            except Exception:
                # Disk full or gone: keep them in memory; the next overflow or stop() retries.
                log.exception(
                    "could not spill %d call records to %s", len(self._spilling), self.spill_path
                )
                self._to_spill[:0] = self._spilling
                self._spilling = []
                return
            records, self._spilling = self._spilling, []
            self._count_spilled(records)
            self._wake.set()
            await self._notify()

    def _write_spill(self, records: list[dict[str, Any]]) -> None:
        """Append records to the spill file; runs in a worker thread, touches no state."""
        lines = "".join(
            json.dumps(record, ensure_ascii=False, default=str) + "\n" for record in records
        )
        with self.spill_path.open("a", encoding="utf-8") as spill:
            spill.write(lines)

    def _count_spilled(self, records: list[dict[str, Any]]) -> None:
        if not self._spilled:  # once per overflow episode, not once per call
            log.warning("call buffer full: spilling call records to %s", self.spill_path)
        self._spilled += len(records)

    def _read_spill_batch(self) -> _Batch | None:
        if not self.replay_path.exists():
            if not self.spill_path.exists():
                self._spilled = 0
                return None
            os.replace(self.spill_path, self.replay_path)
            self._replay_offset = 0
        records: list[dict[str, Any]] = []
        with self.replay_path.open("rb") as replay:
            replay.seek(self._replay_offset)
            offset = self._replay_offset
            while len(records) < self._batch_size:
                line = replay.readline()
                if not line:
                    break
                offset += len(line)
                if not line.strip():
                    continue
                record = self._parse_spilled(line)
                if record is None:
                    self._spilled -= 1
                else:
                    records.append(record)
        if not records:
            # Only unreadable lines (already set aside) or an empty file: done with it.
            self._replay_offset = offset
            self._commit(_Batch([], from_spill=True, next_offset=offset))
            return self._read_spill_batch() if self._spilled > 0 else None
        return _Batch(records, from_spill=True, next_offset=offset)

    def _parse_spilled(self, line: bytes) -> dict[str, Any] | None:
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError as error:  # a torn last line after a crash, or a hand-edited file
            self._reject({"raw": line.decode("utf-8", errors="replace")}, error)
            return None
        return record

    def _reject(self, record: Mapping[str, Any], error: BaseException) -> None:
        self._rejected += 1
        log.error(
            "call record %r set aside in %s: %s", record.get("key"), self.rejected_path, error
        )
        entry = {"error": f"{type(error).__name__}: {error}", "record": record}
        with self.rejected_path.open("a", encoding="utf-8") as rejected:
            rejected.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")

    @staticmethod
    def _count_lines(path: Path) -> int:
        if not path.exists():
            return 0
        with path.open("rb") as source:
            return sum(1 for line in source if line.strip())

    @staticmethod
    def _file_size(path: Path) -> int:
        return path.stat().st_size if path.exists() else 0
