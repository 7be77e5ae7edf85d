"""acd.feed.AmiFeed on its own, one per PBX: two feeds, two loopback Asterisks, two captures,
each feed's records exactly its capture's expected.json and nothing of the other's."""

from __future__ import annotations

from pathlib import Path

from acd.feed import AmiEndpoint, AmiFeed, PbxLogs
from acd.records import CallRecord
from hotline.sim.ami_server import AmiServer, replay
from tests.captures import load_expected, raw_bytes
from tests.service.helpers import answer_as_idle_pbx, wait_for

CAPTURES = ("abandoned", "answered_fast")


async def test_one_feed_per_pbx_keeps_their_calls_apart(tmp_path: Path) -> None:
    async with AmiServer() as first, AmiServer() as second:
        servers = (first, second)
        records: list[list[CallRecord]] = [[], []]
        feeds = []
        for n, server in enumerate(servers):
            answer_as_idle_pbx(server)
            feeds.append(
                AmiFeed(
                    AmiEndpoint("127.0.0.1", server.port, server.username, server.secret),
                    PbxLogs(tmp_path / f"queue_log.{n}", tmp_path / f"Master.{n}.csv"),
                    publish=None,
                    on_record=records[n].append,
                    entry_contexts=["hotline-ivr"],
                )
            )
        for feed in feeds:
            await feed.start(last_stored_end=None)
        try:
            for feed, server, name in zip(feeds, servers, CAPTURES, strict=True):
                link = feed.link
                assert link is not None
                await link.wait_connected(timeout=5)
                await wait_for(lambda feed=feed: not feed.catching_up)
                target = link.state["events"] + await replay(server, raw_bytes(name))
                await wait_for(lambda link=link, target=target: link.state["events"] >= target)
            for feed, name, got in zip(feeds, CAPTURES, records, strict=True):
                ordered = sorted(got, key=lambda r: (r.started_at or 0.0, r.leg))
                assert [r.expected_view() for r in ordered] == load_expected(name)
                assert feed.health()["ok"] is True
        finally:
            for feed in feeds:
                await feed.stop()
        assert all(not feed.health()["ok"] for feed in feeds)
