"""Issue 7 item 6: a deleted (or replaced) SQLite file is an outage, not a silent loss.

SQLite keeps writing to a file that was unlinked under it: every call "stored" after the
delete is gone at the next start. The store checks the file's identity (device and inode)
around each write; a missing file makes the write fail as "unavailable", so the writer keeps
the records (buffer, then spill file) and /healthz says why; once a file is back at the path
(restored from a backup, or moved back) the store reopens it and the records are written.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.ticketing.conftest import make_record
from ticketing.sqlite_guard import DatabaseFileGone
from ticketing.store import TicketStore, calls
from ticketing.writer import BufferedCallWriter

LIMIT_S = 20.0


def remove(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)


async def stored_keys(url: str) -> set[str]:
    store = await TicketStore.open(url)
    try:
        async with store.engine.connect() as connection:
            return set((await connection.execute(select(calls.c.key))).scalars())
    finally:
        await store.close()


async def test_a_deleted_database_file_keeps_the_calls_until_it_is_back(tmp_path: Path) -> None:
    db = tmp_path / "hotline.sqlite3"
    url = f"sqlite+aiosqlite:///{db}"
    store = await TicketStore.open(url)
    writer = BufferedCallWriter(store, 1000, 0.05, tmp_path / "spill.jsonl", max_retry_interval=0.2)
    writer.start()
    try:
        first = make_record()
        writer.submit(first)
        assert await writer.flush(LIMIT_S)
        backup = tmp_path / "backup.sqlite3"
        async with store.engine.connect() as connection:  # a consistent copy, WAL included
            await connection.exec_driver_sql(f"VACUUM INTO '{backup}'")
        remove(db)
        # /healthz (writer.status()) says so at once, before any call has to fail.
        now = writer.status()
        assert now["db_ok"] is False and str(db) in str(now["last_error"])

        second = make_record()
        writer.submit(second)
        status = await writer.wait_until(lambda s: not s["db_ok"], LIMIT_S)
        assert str(db) in str(status["last_error"])
        assert writer.pending == 1
        assert await store.ping() is False  # /healthz's view too

        shutil.copy(backup, db)  # the operator restores the file
        assert await writer.flush(LIMIT_S)
        assert writer.status()["db_ok"] is True
    finally:
        await writer.stop()
        await store.close()
    assert await stored_keys(url) == {first["key"], second["key"]}


async def test_a_file_replaced_under_the_store_is_reopened(tmp_path: Path) -> None:
    db = tmp_path / "hotline.sqlite3"
    url = f"sqlite+aiosqlite:///{db}"
    store = await TicketStore.open(url)
    try:
        await store.save_calls([make_record()])
        remove(db)
        db.write_bytes(b"")  # an empty file at the path: a new database, migrated on reopen
        record = make_record()
        assert await store.save_calls([record]) == 1
    finally:
        await store.close()
    assert await stored_keys(url) == {record["key"]}


async def test_every_write_of_the_store_notices_the_file_gone(tmp_path: Path) -> None:
    db = tmp_path / "hotline.sqlite3"
    store = await TicketStore.open(f"sqlite+aiosqlite:///{db}")
    try:
        remove(db)
        incident = {
            "id": "water-1",
            "title": "停水",
            "text": "停水",
            "prompt": "hotline/incidents/water-1",
            "start": "2026-11-25T08:00:00+08:00",
        }
        with pytest.raises(DatabaseFileGone, match=str(db)):
            await store.save_incident(incident)
        with pytest.raises(DatabaseFileGone):
            await store.record_survey("1795445274.0", "satisfied", datetime.now(UTC), "1")
        with pytest.raises(DatabaseFileGone):
            await store.save_calls([make_record()])
        assert not db.exists()  # nothing wrote a new empty file behind our back
    finally:
        await store.close()
