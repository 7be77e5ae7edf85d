"""One service, two Asterisks that hand out the same uniqueids (no systemname): each PBX's
calls are stored as that PBX's, none mistaken for the other's, and /healthz names each link."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from acd.kpi import compute
from hotline.service import HotlineService
from hotline.settings import Settings
from hotline.sim.ami_server import AmiServer, replay
from tests.captures import load_expected, raw_bytes

from .helpers import answer_as_idle_pbx, service_settings, wait_for

CAPTURE = "transfer"


def _two_pbx_settings(tmp_path: Path, east: int, west: int) -> Settings:
    data = service_settings(tmp_path, east).model_dump(mode="python")
    data["ami"]["servers"] = [
        {
            "name": name,
            "port": port,
            "queue_log": tmp_path / f"{name}.queue_log",
            "cdr_csv": tmp_path / f"{name}.csv",
        }
        for name, port in (("east", east), ("west", west))
    ]
    return Settings.model_validate(data)


async def test_same_uniqueids_on_two_pbxs_are_two_pbxs_calls(tmp_path: Path) -> None:
    expected = load_expected(CAPTURE)
    async with AmiServer() as east, AmiServer() as west:
        for server in (east, west):
            answer_as_idle_pbx(server)
        service = HotlineService(_two_pbx_settings(tmp_path, east.port, west.port))
        await service.start(web_enabled=False)
        try:
            assert [feed.name for feed in service.feeds] == ["east", "west"]
            for feed in service.feeds:
                assert feed.link is not None
                await feed.link.wait_connected(timeout=5)
            health = service.health()
            assert health["ami.east"]["ok"] and health["ami.west"]["ok"]
            for server in (east, west):
                await replay(server, raw_bytes(CAPTURE))
            await wait_for(lambda: service.records == 2 * len(expected))
            await wait_for(lambda: not service.catching_up)
            assert service.writer is not None and await service.writer.flush(timeout=10)
            assert service.store is not None
            stored = await service.store.calls_between(
                datetime(2020, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
            )
        finally:
            await service.stop()
    assert Counter(row["pbx"] for row in stored) == {"east": len(expected), "west": len(expected)}
    for pbx in ("east", "west"):
        keys = sorted(row["key"] for row in stored if row["pbx"] == pbx)
        assert len(set(keys)) == len(expected)
    # The KPIs count both PBXs' calls, and split them.
    report = compute(stored)
    assert sorted(report.by_pbx) == ["east", "west"]
    assert report.rejected == []
    one = compute(expected).totals["offered"].value
    assert report.by_pbx["east"]["offered"].value == report.by_pbx["west"]["offered"].value == one
    assert report.totals["offered"].value == 2 * one
