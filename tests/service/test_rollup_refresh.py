"""The running service keeps the report rollups built: a call it stores is summed into its
hour's rollup rows by the refresher (reports.rollup_interval_s), on SQLite and PostgreSQL;
the refresher is stopped with the service, and an interval of 0 runs none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from acd.records import CallRecord
from hotline.service import HotlineService
from hotline.sim.ami_server import AmiServer
from ticketing.rollup.tables import rollup_built, rollup_calls, rollup_cases, rollup_dirty

from .helpers import answer_as_idle_pbx, service_settings

HOUR = datetime(2026, 11, 23, 9, tzinfo=UTC)
NOW = (HOUR + timedelta(hours=3, minutes=20)).timestamp()


def call() -> CallRecord:
    at = (HOUR + timedelta(minutes=15)).timestamp()
    return CallRecord(
        linkedid="1795425300.7", uniqueid="1795425300.7", caller_num="13800138000",
        queue="hotline-general", outcome="answered", wait_s=4, talk_s=60,
        answered_by="Robot Agent 1", started_at=at - 10, queue_entered_at=at,
        answered_at=at + 4, ended_at=at + 64,
    )  # fmt: skip


async def test_a_call_the_service_stores_is_summed_into_its_hours_rollup(
    tmp_path: Path, db_url: str
) -> None:
    async with AmiServer(secret="hotline-secret") as server:
        answer_as_idle_pbx(server)
        settings = service_settings(tmp_path, server.port, db_url,
                                    reports={"rollup_interval_s": 0.05})  # fmt: skip
        service = HotlineService(settings, now=lambda: NOW)
        await service.start()
        try:
            assert service.store is not None and service.writer is not None
            refresher = service.rollups
            assert refresher is not None
            # The tracker's path for a finished call: the writer and today's KPIs.
            service.sink(call())
            assert await service.writer.flush(10)
            # A pass that began after the call was stored.
            passes = refresher.passes
            await refresher.wait_until(lambda r: r.passes >= passes + 2, 10)
            async with service.store.engine.connect() as connection:
                built = set((await connection.execute(select(rollup_built.c.bucket))).scalars())
                dirty = set((await connection.execute(select(rollup_dirty.c.hour))).scalars())
                calls = await connection.execute(
                    select(rollup_calls.c.bucket, rollup_calls.c.queue, rollup_calls.c.calls,
                           rollup_calls.c.answered).where(rollup_calls.c.span == "hour")
                )  # fmt: skip
                cases = await connection.execute(
                    select(rollup_cases.c.bucket, rollup_cases.c.cases).where(
                        rollup_cases.c.span == "hour", rollup_cases.c.unit == ""
                    )
                )
                summed = (sorted(map(tuple, calls)), sorted(map(tuple, cases)))
            assert built == {HOUR + timedelta(hours=n) for n in range(3)}
            assert dirty == set()
            # The call, over every queue ("") and in its queue; the case it opened.
            assert summed == (
                [(HOUR, "", 1, 1), (HOUR, "hotline-general", 1, 1)],
                [(HOUR, 1)],
            )
            assert service.health()["rollups"]["ok"]
        finally:
            await service.stop()
        assert refresher.status()["passes"] >= 2


async def test_an_interval_of_zero_runs_no_refresher(tmp_path: Path) -> None:
    async with AmiServer(secret="hotline-secret") as server:
        answer_as_idle_pbx(server)
        settings = service_settings(tmp_path, server.port, reports={"rollup_interval_s": 0})
        service = HotlineService(settings, now=lambda: NOW)
        await service.start()
        try:
            assert service.rollups is None
            assert "rollups" not in service.health()
        finally:
            await service.stop()
