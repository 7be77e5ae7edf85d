"""The buffered call writer: batches, a real PostgreSQL outage, overflow to disk, bad records."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from acd.records import CallRecord
from tests.pg import PostgresServer
from tests.ticketing.conftest import make_record
from ticketing.store import TicketStore, calls, ticket_events, tickets
from ticketing.writer import BufferedCallWriter


def lines(path: Path) -> list[str]:
    return [line for line in path.read_text("utf-8").splitlines() if line.strip()]


def on_disk(writer: BufferedCallWriter) -> list[str]:
    """Keys of the records waiting on disk (the file being replayed comes first)."""
    paths = [writer.replay_path, writer.spill_path]
    return [json.loads(line)["key"] for path in paths if path.exists() for line in lines(path)]


async def stored_keys(store: TicketStore) -> list[str]:
    async with store.engine.connect() as connection:
        return list((await connection.execute(select(calls.c.key))).scalars())


async def count(store: TicketStore, table: Any) -> int:
    async with store.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


@contextlib.asynccontextmanager
async def outage(server: PostgresServer) -> AsyncIterator[None]:
    """PostgreSQL is down inside the block (the test may start it early); up after it."""
    await asyncio.to_thread(server.stop)
    try:
        yield
    finally:
        if not await asyncio.to_thread(server.running):
            await asyncio.to_thread(server.start)


@pytest.fixture
async def pg_store(postgres_url: str) -> AsyncIterator[TicketStore]:
    store = await TicketStore.open(postgres_url)
    try:
        yield store
    finally:
        await store.close()


def make_writer(store: TicketStore, spill: Path, max_buffer: int = 1000) -> BufferedCallWriter:
    return BufferedCallWriter(
        store, max_buffer=max_buffer, retry_interval=0.05, spill_path=spill, max_retry_interval=0.2
    )


async def test_submitted_records_are_written_in_batches(store: TicketStore, tmp_path: Path) -> None:
    writer = make_writer(store, tmp_path / "spill.jsonl")
    records = [make_record() for _ in range(250)]
    for record in records:
        writer.submit(record)
    assert await writer.flush(timeout=20)
    assert sorted(await stored_keys(store)) == sorted(record["key"] for record in records)
    assert await count(store, tickets) == 250

    # A replay of the same calls (AMI reconnect) is written again and stored nowhere twice.
    for record in records[:10]:
        writer.submit(record)
    assert await writer.flush(timeout=20)
    assert await store.count_calls() == 250
    status = writer.status()
    assert status == {
        "db_ok": True,
        "buffered": 0,
        "spilled": 0,
        "last_error": None,
        "written": 260,
        "inserted": 250,
        "rejected": 0,
    }
    await writer.stop()


async def test_postgres_outage_buffers_and_writes_everything_once_it_returns(
    pg_store: TicketStore, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    writer = make_writer(pg_store, tmp_path / "spill.jsonl")
    first = make_record()
    writer.submit(first)
    assert await writer.flush(timeout=10)

    during = [make_record() for _ in range(20)]
    async with outage(postgres_server):
        for record in during:
            writer.submit(record)
        status = await writer.wait_until(lambda s: not s["db_ok"], timeout=15)
        assert status["buffered"] == 20
        assert status["spilled"] == 0
        assert status["last_error"]
        # Retried with backoff, never dropped, while the server stays away.
        assert not await writer.flush(timeout=0.5)
        assert writer.status()["buffered"] == 20
        # The same calls again, as a tracker replaying after its own reconnect would send them.
        writer.submit(during[0])

        await asyncio.to_thread(postgres_server.start)
        assert await writer.flush(timeout=30)

    status = writer.status()
    assert status["db_ok"] is True and status["buffered"] == 0 and status["last_error"] is None
    keys = await stored_keys(pg_store)
    assert sorted(keys) == sorted(record["key"] for record in [first, *during])
    assert await count(pg_store, tickets) == 21
    assert await count(pg_store, ticket_events) == 21
    await writer.stop()


async def test_buffer_overflow_spills_to_disk_and_the_spill_is_replayed_first(
    pg_store: TicketStore, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    spill = tmp_path / "spill.jsonl"
    writer = make_writer(pg_store, spill, max_buffer=5)
    writer.start()
    records = [make_record() for _ in range(12)]
    async with outage(postgres_server):
        for record in records:
            writer.submit(record)
        status = await writer.wait_until(lambda s: not s["db_ok"], timeout=15)
        assert (status["buffered"], status["spilled"]) == (5, 7)
        assert on_disk(writer) == [record["key"] for record in records[5:]]
        await asyncio.to_thread(postgres_server.start)
        assert await writer.flush(timeout=30)

    assert writer.status()["spilled"] == 0
    assert not spill.exists() and not writer.replay_path.exists()
    assert sorted(await stored_keys(pg_store)) == sorted(record["key"] for record in records)
    async with pg_store.engine.connect() as connection:
        stored_at = dict((await connection.execute(select(calls.c.key, calls.c.stored_at))).all())
    # The spilled (older) records went in before the buffered ones.
    assert max(stored_at[r["key"]] for r in records[5:]) <= min(
        stored_at[r["key"]] for r in records[:5]
    )
    await writer.stop()


async def test_stopping_during_an_outage_keeps_records_for_the_next_start(
    pg_store: TicketStore, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    spill = tmp_path / "spill.jsonl"
    records = [make_record() for _ in range(8)]
    async with outage(postgres_server):
        writer = make_writer(pg_store, spill)
        for record in records:
            writer.submit(record)
        await writer.wait_until(lambda s: not s["db_ok"], timeout=15)
        await writer.stop(timeout=0.2)
        assert (
            len(lines(spill) + (lines(writer.replay_path) if writer.replay_path.exists() else []))
            == 8
        )
        writer.submit(make_record())  # after stop: straight to disk, not lost
        assert writer.status()["spilled"] == 9

    restarted = make_writer(pg_store, spill)
    assert restarted.status()["spilled"] == 9
    restarted.start()
    assert await restarted.flush(timeout=30)
    assert await pg_store.count_calls() == 9
    assert set(await stored_keys(pg_store)) >= {record["key"] for record in records}
    await restarted.stop()


async def test_a_spill_left_by_a_crash_is_replayed_and_torn_lines_set_aside(
    store: TicketStore, tmp_path: Path
) -> None:
    spill = tmp_path / "spill.jsonl"
    already = make_record()
    await store.save_calls([already])
    interrupted = [already, make_record()]  # a replay that was half done when the process died
    waiting = [make_record() for _ in range(3)]
    writer_paths = make_writer(store, spill)
    writer_paths.replay_path.write_text(
        "".join(json.dumps(record) + "\n" for record in interrupted), "utf-8"
    )
    torn = json.dumps(make_record())[:40]
    spill.write_text(
        "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in waiting) + "\n" + torn,
        "utf-8",
    )

    writer = make_writer(store, spill)
    assert writer.status()["spilled"] == 6
    writer.start()
    assert await writer.flush(timeout=20)
    expected = {record["key"] for record in [*interrupted, *waiting]}
    assert set(await stored_keys(store)) == expected
    assert writer.status()["rejected"] == 1
    (rejected,) = [json.loads(line) for line in lines(writer.rejected_path)]
    assert rejected["record"]["raw"] == torn
    assert not spill.exists() and not writer.replay_path.exists()
    await writer.stop()


async def test_a_malformed_record_is_set_aside_and_the_rest_written(
    store: TicketStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer = make_writer(store, tmp_path / "spill.jsonl")
    good = [make_record(), make_record()]
    bad = {**make_record(), "uniqueid": None}
    writer.submit(good[0])
    writer.submit(bad)
    writer.submit(good[1])
    with caplog.at_level(logging.ERROR, logger="ticketing.writer"):
        assert await writer.flush(timeout=20)
    assert sorted(await stored_keys(store)) == sorted(record["key"] for record in good)
    status = writer.status()
    assert (status["db_ok"], status["rejected"], status["inserted"]) == (True, 1, 2)
    (rejected,) = [json.loads(line) for line in lines(writer.rejected_path)]
    assert "uniqueid is missing" in rejected["error"]
    assert rejected["record"]["linkedid"] == bad["linkedid"]
    assert "set aside" in caplog.text
    await writer.stop()


async def test_submit_never_raises_even_when_the_disk_fails(
    store: TicketStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer = make_writer(store, tmp_path / "missing-dir" / "spill.jsonl", max_buffer=1)
    await writer.stop()  # stopped: every submit goes to the (unwritable) spill path
    with caplog.at_level(logging.ERROR, logger="ticketing.writer"):
        writer.submit(make_record())
        writer.submit({"not": {"json", "able"}})
    assert "could not queue call record" in caplog.text


async def test_a_call_record_object_is_accepted_as_is(store: TicketStore, tmp_path: Path) -> None:
    record = CallRecord(**{k: v for k, v in make_record().items() if k != "key"})
    writer = make_writer(store, tmp_path / "spill.jsonl")
    writer.submit(record)  # type: ignore[arg-type]  # the tracker may hand over the object
    assert await writer.flush(timeout=10)
    assert await stored_keys(store) == [record.key]
    await writer.stop()


async def test_overflow_is_spilled_off_the_event_loop_and_nothing_is_lost(
    store: TicketStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    spill = tmp_path / "spill.jsonl"
    writer = make_writer(store, spill, max_buffer=2)
    disk_free = threading.Event()
    writers: list[threading.Thread] = []
    write_spill = writer._write_spill

    def slow_disk(records: list[dict[str, Any]]) -> None:
        writers.append(threading.current_thread())
        assert disk_free.wait(10)  # a disk that stalls: only a worker thread may wait on it
        write_spill(records)

    monkeypatch.setattr(writer, "_write_spill", slow_disk)
    records = [make_record() for _ in range(7)]
    for record in records:  # the first two fit the buffer, five overflow while the disk stalls
        writer.submit(record)
    await wait_until_true(lambda: bool(writers))
    assert writer.status()["spilled"] == 5  # counted as waiting for the disk, not lost
    writer.submit(extra := make_record())  # still accepted while the disk is busy
    disk_free.set()
    assert await writer.flush(timeout=20)
    assert threading.main_thread() not in writers
    assert sorted(await stored_keys(store)) == sorted(r["key"] for r in [*records, extra])
    assert not spill.exists() and not writer.replay_path.exists()
    await writer.stop()


async def wait_until_true(predicate: Any, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    async def poll() -> None:
        while not predicate():  # noqa: ASYNC110 -- a thread sets it, no event to await
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)
