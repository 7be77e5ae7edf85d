"""acd.feed.AmiFeed on its own, one per PBX: two feeds, two loopback Asterisks, two captures,
each feed's records exactly its capture's expected.json and nothing of the other's."""

from __future__ import annotations

from pathlib import Path

from acd.ami.message import AmiMessage
from acd.feed import RESTART_MARGIN_S, AmiEndpoint, AmiFeed, PbxLogs
from acd.records import CallRecord
from hotline.sim.ami_server import AmiServer, replay
from tests.acd.test_tracker_recovery import load_capture
from tests.captures import CAPTURES as CAPTURE_DIR
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


async def test_a_call_talking_across_a_restart_keeps_its_queue_visit(tmp_path: Path) -> None:
    """A call answered long before the newest stored call ended, still talking when the
    service starts (a restart, or a standby taking over): its queue_log lines are all older
    than the restart's look-back, yet its visit is open, so they are kept for the resync —
    without them the call's hang-up closed it as an IVR hang-up with no queue."""
    cap = load_capture("answered_fast")
    k = next(i for i, m in enumerate(cap.messages) if m.name == "AgentConnect") + 1
    state = cap.states[k]
    queue_log = tmp_path / "queue_log"
    lines = (CAPTURE_DIR / "answered_fast" / "queue_log").read_text("utf-8").splitlines()
    written = [line for line in lines if int(line.split("|", 1)[0]) <= state.moment]
    assert any("|CONNECT|" in line for line in written)
    queue_log.write_text("".join(f"{line}\n" for line in written), "utf-8")
    records: list[CallRecord] = []
    async with AmiServer() as server:

        def listed(events: list[AmiMessage]) -> list[AmiMessage]:
            start = AmiMessage([("Response", "Success"), ("EventList", "start")])
            return [start, *events]

        async def channels(msg: AmiMessage) -> list[AmiMessage]:
            return listed(state.core_show_channels())

        async def status(msg: AmiMessage) -> list[AmiMessage]:
            return listed(state.queue_status())

        server.register_action("CoreShowChannels", channels)
        server.register_action("QueueStatus", status)
        feed = AmiFeed(
            AmiEndpoint("127.0.0.1", server.port, server.username, server.secret),
            PbxLogs(queue_log, tmp_path / "Master.csv"),
            publish=None,
            on_record=records.append,
            entry_contexts=["hotline-ivr"],
            now=lambda: state.moment + 120,  # the capture's clock, not today's
        )
        # The newest stored call (another one) ended well after this one's CONNECT line.
        await feed.start(last_stored_end=state.moment + RESTART_MARGIN_S + 30)
        try:
            link = feed.link
            assert link is not None
            await link.wait_connected(timeout=5)
            await wait_for(lambda: not feed.catching_up)
            assert records == []
            for msg in cap.messages[k:]:
                await server.broadcast(msg)
            await wait_for(lambda: len(records) == 1)
        finally:
            await feed.stop()
    (record,) = records
    (expected,) = load_expected("answered_fast")
    assert (record.queue, record.outcome, record.answered_by) == (
        expected["queue"],
        "answered",
        expected["answered_by"],
    )
    assert record.talk_s == expected["talk_s"]
