"""The rollup refresher the service runs: a pass every interval builds the hours before the
clock's hour and rebuilds those written since; a failing pass is logged, retried with the
project's backoff and never ends the refresher; stop ends it, a hung pass cancelled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from retry_policy import Backoff
from tests.ticketing.conftest import make_record
from ticketing.engine import make_engine
from ticketing.reports import Thresholds
from ticketing.rollup.build_lock import building
from ticketing.rollup.refresh import Refreshed
from ticketing.rollup.refresher import RollupRefresher
from ticketing.rollup.tables import rollup_built, rollup_dirty
from ticketing.store import TicketStore

H10 = datetime(2026, 11, 23, 10, tzinfo=UTC)
FAST = Backoff(0.01, 0.01, jitter=False)


def call_at(at: datetime, n: int) -> dict[str, object]:
    return make_record(linkedid=f"l{n}", uniqueid=f"u{n}", queue_entered_at=at.timestamp())


async def hours(store: TicketStore) -> tuple[set[datetime], set[datetime]]:
    """The built hours and the dirty ones."""
    async with store.engine.connect() as connection:
        built = await connection.execute(
            select(rollup_built.c.bucket).where(rollup_built.c.span == "hour")
        )
        dirty = await connection.execute(select(rollup_dirty.c.hour))
        return set(built.scalars()), set(dirty.scalars())


async def test_each_pass_builds_the_hours_before_the_clocks_and_rebuilds_written_ones(
    store: TicketStore,
) -> None:
    await store.save_calls([call_at(H10 + timedelta(minutes=5), 1)])
    now = H10 + timedelta(hours=3, minutes=10)
    refresher = RollupRefresher(store.engine, Thresholds(), interval=0.02, clock=lambda: now)
    refresher.start()
    try:
        await refresher.wait_until(lambda r: r.passes >= 1, 10)
        every = {H10 + timedelta(hours=n) for n in range(3)}
        assert await hours(store) == (every, set())
        assert refresher.status() == {"ok": True, "passes": refresher.passes, "hours": 3,
                                      "days": 0, "waiting": 0, "skipped": 0}  # fmt: skip
        # A call stored later, in a built hour: marked, and rebuilt by a later pass.
        await store.save_calls([call_at(H10 + timedelta(hours=1, minutes=30), 2)])
        assert (await hours(store))[1] == {H10 + timedelta(hours=1)}
        await refresher.wait_until(lambda r: r.hours >= 4, 10)
        assert await hours(store) == (every, set())
    finally:
        await refresher.stop()


@pytest.fixture
async def lite() -> AsyncIterator[AsyncEngine]:
    """An engine the stub passes never use (its dialect tells the build lock: none needed)."""
    engine = make_engine("sqlite+aiosqlite://")
    yield engine
    await engine.dispose()


async def test_a_failing_pass_is_logged_retried_and_never_ends_the_refresher(
    caplog: pytest.LogCaptureFixture, lite: AsyncEngine
) -> None:
    outcomes: list[Exception | Refreshed] = [OSError("database down"), OSError("still down"),
                                             Refreshed(2, 0, 5)]  # fmt: skip

    async def run(engine: AsyncEngine, thresholds: Thresholds, *, now: datetime,
                  budget_hours: int) -> Refreshed:  # fmt: skip
        outcome = outcomes.pop(0) if outcomes else OSError("down again")
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    caplog.set_level(logging.INFO, "ticketing.rollup.refresher")
    refresher = RollupRefresher(lite, Thresholds(), interval=0.02, backoff=FAST, run=run)
    refresher.start()
    try:
        # Two failures, then the third attempt of the same pass succeeds.
        await refresher.wait_until(lambda r: r.passes == 1, 10)
        assert (refresher.failures, refresher.hours, refresher.left) == (2, 2, 5)
        assert "warning" not in refresher.status()
        assert "the rollup refresh failed (database down); retrying" in caplog.text
        # From then on every attempt fails: given up after three, and tried again next time.
        await refresher.wait_until(lambda r: r.failures >= 2 + 3 * 2, 10)
        assert "giving up the rollup refresh after 3 attempts: down again" in caplog.text
        status = refresher.status()
        assert status["ok"] and status["warning"] == (
            "last rollup refresh failed: OSError: down again"
        )
    finally:
        await refresher.stop()
    assert refresher.status()["passes"] == 1


async def test_stop_cancels_a_pass_that_does_not_end_within_the_grace(lite: AsyncEngine) -> None:
    entered, cancelled = asyncio.Event(), asyncio.Event()

    async def hung(engine: AsyncEngine, thresholds: Thresholds, *, now: datetime,
                   budget_hours: int) -> Refreshed:  # fmt: skip
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("never ends")

    refresher = RollupRefresher(lite, Thresholds(), interval=60, run=hung, stop_grace=0.05)
    refresher.start()
    await asyncio.wait_for(entered.wait(), 10)
    await asyncio.wait_for(refresher.stop(), 10)
    assert cancelled.is_set()


async def test_an_interval_of_zero_is_not_a_refresher(lite: AsyncEngine) -> None:
    with pytest.raises(ValueError, match="0 means"):
        RollupRefresher(lite, Thresholds(), interval=0)


async def test_passes_are_skipped_while_another_process_builds_on_postgresql(
    postgres_url: str,
) -> None:
    store = await TicketStore.open(postgres_url)
    refresher = RollupRefresher(store.engine, Thresholds(), interval=0.02,
                                clock=lambda: H10 + timedelta(hours=2))  # fmt: skip
    try:
        await store.save_calls([call_at(H10 + timedelta(minutes=5), 1)])
        # `hotline rollup build` holds the lock (on a connection of another pool).
        other = make_engine(postgres_url)
        try:
            async with building(other, wait=True) as held:
                assert held
                async with building(store.engine, wait=False) as second:
                    assert not second
                refresher.start()
                await refresher.wait_until(lambda r: r.skipped >= 2, 10)
                assert (refresher.passes, await hours(store)) == (0, (set(), {H10}))
            await refresher.wait_until(lambda r: r.passes >= 1, 10)
            assert await hours(store) == ({H10, H10 + timedelta(hours=1)}, set())
        finally:
            await other.dispose()
    finally:
        await refresher.stop()
        await store.close()
