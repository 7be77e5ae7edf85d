"""Each real capture, streamed byte-exact over a loopback AMI server into the running service:
the real link, tracker, KPI counters, buffered writer and SQL store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotline.service import HotlineService
from hotline.sim.ami_server import AmiServer, replay
from tests.captures import capture_names, load_expected, raw_bytes

from .helpers import answer_as_idle_pbx, service_settings, wait_for


def _key(record: dict[str, object]) -> tuple[object, ...]:
    return (record["uniqueid"], record["queue_entered_at"] or 0)


@pytest.mark.parametrize("name", capture_names())
async def test_capture_becomes_calls_and_tickets(name: str, tmp_path: Path) -> None:
    expected = load_expected(name)
    async with AmiServer() as server:
        answer_as_idle_pbx(server)
        service = HotlineService(service_settings(tmp_path, server.port))
        await service.start()
        try:
            assert service.link is not None
            link = service.link
            await link.wait_connected(timeout=5)
            # Odd chunk sizes cut through CRLFs and multi-byte caller names alike.
            before = link.state["events"]
            sent = await replay(server, raw_bytes(name), chunk_sizes=[1, 7, 64, 333, 4096])
            await wait_for(lambda: link.state["events"] >= before + sent)
            await wait_for(lambda: not service.catching_up)
            assert service.records == len(expected)
            assert service.writer is not None
            assert await service.writer.flush(timeout=10)

            # Replaying the same stream again, on a fresh connection, stores nothing new.
            server.drop_clients()
            await wait_for(lambda: link.state["reconnects"] >= 1 and link.connected)
            before = link.state["events"]
            sent = await replay(server, raw_bytes(name))
            await wait_for(lambda: link.state["events"] >= before + sent)
            await wait_for(lambda: not service.catching_up)
            assert await service.writer.flush(timeout=10)

            assert service.store is not None
            assert await service.store.count_calls() == len(expected)

            stored = await service.store.calls_between(
                datetime(2020, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
            )
        finally:
            await service.stop()
    fields = list(expected[0]) if expected else []
    got = sorted(({f: row[f] for f in fields} for row in stored), key=_key)
    want = sorted(expected, key=_key)
    assert json.dumps(got, ensure_ascii=False) == json.dumps(want, ensure_ascii=False)
