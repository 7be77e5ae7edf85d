"""A restart loses no call: calls that end while the service is down are closed from queue_log.

The service stores calls, stops; Asterisk goes on (calls are answered, abandoned and hung up,
and only queue_log remembers); the service starts again on the same database and queue_log,
and every call is stored once, those that ended in the downtime marked recovered.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hotline.demo_model import demo_model
from hotline.service import HotlineService
from hotline.settings import Settings
from hotline.sim.actions import attach
from hotline.sim.ami_server import AmiServer
from hotline.sim.traffic import Simulation

from .helpers import service_settings, wait_for

START = 1795395600.0  # 2026-11-23 09:00 in China


def _settings(tmp_path: Path, port: int) -> Settings:
    settings = service_settings(tmp_path, port)
    data = settings.model_dump(mode="python")
    data["ami"].update(action_timeout=0.5, reconnect_min=0.05, reconnect_max=0.1)
    return Settings.model_validate(data)


async def _stored(service: HotlineService) -> list[dict[str, Any]]:
    assert service.store is not None
    return await service.store.calls_between(
        datetime(2020, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    )


async def _run(service: HotlineService) -> None:
    await service.start(web_enabled=False)
    assert service.link is not None
    await service.link.wait_connected(timeout=5)
    await wait_for(lambda: not service.catching_up)


async def test_calls_that_end_while_the_service_is_down_are_stored_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with AmiServer(secret="hotline-secret", badauth_delay=0) as server:
        sim = Simulation(
            demo_model(calls_per_hour=900, agents=6),
            seed=5,
            queue_log_path=tmp_path / "queue_log",
            start=START,
        )
        pump = attach(sim.pbx, server)
        settings = _settings(tmp_path, server.port)
        try:
            first = HotlineService(settings, now=lambda: sim.now)
            try:
                await _run(first)
                sim.run_for(300)
                await pump.flush()
                assert first.writer is not None
                await wait_for(lambda: first.records > 0)
                assert await first.writer.flush(timeout=10)
                before = await _stored(first)
            finally:
                with caplog.at_level(logging.INFO, logger="acd.feed"):
                    await first.stop()
            # A clean stop is not an outage: no warning about a lost link.
            closing = [r for r in caplog.records if "AMI link" in r.getMessage()]
            assert closing and all(r.levelno == logging.INFO for r in closing)
            stopped_at = sim.now

            sim.run_for(240)  # the service is down: only queue_log sees these calls end
            await pump.flush()

            second = HotlineService(settings, now=lambda: sim.now)
            try:
                await _run(second)
                sim.run_for(60)
                sim.drain()
                await pump.flush()
                await wait_for(lambda: not second.tracker.active_calls(), 15)
                assert second.writer is not None
                assert await second.writer.flush(timeout=20)
                stored = await _stored(second)
            finally:
                await second.stop()
        finally:
            await pump.close()
            sim.close()

    assert before, "the first run should have stored calls"
    assert max(Counter(row["key"] for row in stored).values()) == 1
    assert {row["key"] for row in before} <= {row["key"] for row in stored}
    by_leg = {(r["uniqueid"], r["queue"], r["outcome"]): r for r in stored}
    down = [
        t
        for t in sim.truths
        if t.queue
        and t.outcome
        and t.ended_at is not None
        and t.ended_at > stopped_at
        and t.ended_at < stopped_at + 240
    ]
    assert down, "calls should have ended while the service was down"
    for truth in down:
        row = by_leg.get((truth.uniqueid, truth.queue, truth.outcome))
        assert row is not None, truth.to_expected()
        assert row["recovered"] is True
        assert (row["wait_s"], row["answered_by"]) == (truth.wait_s, truth.answered_by)
        if truth.outcome != "transferred":
            assert row["talk_s"] == truth.talk_s
    # Every queued call of the whole day is there, whatever side of the restart it ended on.
    for truth in sim.truths:
        if truth.queue and truth.outcome:
            assert (truth.uniqueid, truth.queue, truth.outcome) in by_leg, truth.to_expected()


async def test_a_start_with_an_empty_store_records_the_calls_made_while_it_was_down(
    tmp_path: Path,
) -> None:
    """Issue 8 item 5: nothing stored yet (the service never stored a call) is no reason to
    skip queue_log and cdr_csv: the calls of the downtime and those in progress are recorded,
    each once, rebuilt with their CDR's linkedid."""
    async with AmiServer(secret="hotline-secret", badauth_delay=0) as server:
        sim = Simulation(
            demo_model(calls_per_hour=900, agents=6),
            seed=7,
            queue_log_path=tmp_path / "queue_log",
            cdr_path=tmp_path / "cdr-csv" / "Master.csv",
            start=START,
        )
        pump = attach(sim.pbx, server)
        data = _settings(tmp_path, server.port).model_dump(mode="python")
        data["asterisk"]["cdr_csv"] = tmp_path / "cdr-csv" / "Master.csv"
        settings = Settings.model_validate(data)
        try:
            sim.run_for(240)  # nobody follows the PBX yet
            await pump.flush()
            started_at = sim.now
            service = HotlineService(settings, now=lambda: sim.now)
            try:
                await _run(service)
                sim.run_for(60)
                sim.drain()
                await pump.flush()
                await wait_for(lambda: not service.tracker.active_calls(), 15)
                assert service.writer is not None
                assert await service.writer.flush(timeout=20)
                stored = await _stored(service)
            finally:
                await service.stop()
        finally:
            await pump.close()
            sim.close()

    assert max(Counter(row["key"] for row in stored).values()) == 1
    by_leg = {(r["uniqueid"], r["queue"], r["outcome"]): r for r in stored}
    finished = [t for t in sim.truths if t.outcome]
    before = [t for t in finished if t.ended_at is not None and t.ended_at < started_at]
    assert any(t.queue for t in before) and any(not t.queue for t in before)
    assert any(t.started_at < started_at < (t.ended_at or 0) for t in finished)
    for truth in finished:
        row = by_leg.get((truth.uniqueid, truth.queue, truth.outcome))
        assert row is not None, truth.to_expected()
        assert (row["wait_s"], row["answered_by"]) == (truth.wait_s, truth.answered_by)
        assert (row["linkedid"], row["caller_num"]) == (truth.linkedid, truth.caller_num)
        if truth in before:
            assert row["recovered"] is True
    assert len(stored) == len(finished)
