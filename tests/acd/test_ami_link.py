"""AmiLink against the loopback AmiServer over real TCP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from acd.ami import (
    AmiActionError,
    AmiActionTimeout,
    AmiConnectionLost,
    AmiLink,
    AmiMessage,
    AmiNotConnected,
)
from hotline.sim.ami_server import ActionHandler, AmiServer, replay
from tests.captures import load_messages, raw_bytes

SECRET = "hotline-secret"


@dataclass
class Recorder:
    """The link's callbacks, with a way to await a condition on what arrived."""

    messages: list[AmiMessage] = field(default_factory=list)
    connects: int = 0
    disconnects: list[str] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def on_message(self, msg: AmiMessage) -> None:
        self.messages.append(msg)
        self._changed.set()

    async def on_connected(self) -> None:
        self.connects += 1
        self._changed.set()

    def on_disconnected(self, reason: str) -> None:
        self.disconnects.append(reason)
        self._changed.set()

    def events(self, name: str | None = None) -> list[AmiMessage]:
        return [m for m in self.messages if name is None or m.name == name]

    async def wait(self, predicate: Callable[[], bool], limit_s: float = 5.0) -> None:
        async with asyncio.timeout(limit_s):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()


@pytest.fixture
async def server() -> AsyncIterator[AmiServer]:
    srv = AmiServer(secret=SECRET, badauth_delay=0.0)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.close()


def make_link(
    server: AmiServer,
    rec: Recorder,
    *,
    secret: str = SECRET,
    ping_interval: float = 30.0,
    ping_timeout: float = 1.0,
    action_timeout: float = 2.0,
    reconnect_min: float = 0.05,
    reconnect_max: float = 0.4,
) -> AmiLink:
    return AmiLink(
        "127.0.0.1",
        server.port,
        "hotline",
        secret,
        on_message=rec.on_message,
        on_connected=rec.on_connected,
        on_disconnected=rec.on_disconnected,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        action_timeout=action_timeout,
        reconnect_min=reconnect_min,
        reconnect_max=reconnect_max,
    )


@pytest.fixture
async def linked(server: AmiServer) -> AsyncIterator[tuple[AmiLink, Recorder]]:
    rec = Recorder()
    link = make_link(server, rec)
    await link.start()
    await link.wait_connected(5)
    try:
        yield link, rec
    finally:
        await link.stop()


async def test_login_then_capture_events_arrive_in_wire_order(
    server: AmiServer, linked: tuple[AmiLink, Recorder]
) -> None:
    link, rec = linked
    assert link.state["connected"] is True
    assert link.version == "11.0.0"
    await rec.wait(lambda: bool(rec.events("SuccessfulAuth")))
    assert [m.name for m in rec.messages] == ["FullyBooted", "SuccessfulAuth"]
    before = len(rec.messages)
    raw = raw_bytes("transfer")
    expected = [m for m in load_messages("transfer") if m.kind == "event"]
    sent = await replay(server, raw, chunk_sizes=[1, 7, 1500, 333, 65536])
    assert sent == len(expected)
    await rec.wait(lambda: len(rec.messages) >= before + sent)
    assert rec.messages[before:] == expected
    assert link.state["events"] == before + sent
    assert link.state["skipped_frames"] == 0


async def test_chinese_name_split_across_two_tcp_reads(
    server: AmiServer, linked: tuple[AmiLink, Recorder]
) -> None:
    link, rec = linked
    await rec.wait(lambda: bool(rec.events("SuccessfulAuth")))
    msg = AmiMessage(
        [
            ("Event", "NewCallerid"),
            ("Channel", "Local/12345@hotline-ivr-0;2"),
            ("CallerIDNum", "13800138001"),
            ("CallerIDName", "张三"),
            ("Uniqueid", "1795445560.1"),
        ]
    )
    data = msg.to_bytes()
    cut = data.index("张".encode()) + 2  # between the 2nd and 3rd byte of 张
    received = link.bytes_received
    await server.broadcast_raw(data[:cut])
    # Wait until the link has read the first half, so the second half is a separate read.
    await link.wait_until(lambda: link.bytes_received == received + cut, timeout=5)
    assert not rec.events("NewCallerid")
    await server.broadcast_raw(data[cut:])
    await rec.wait(lambda: bool(rec.events("NewCallerid")))
    assert rec.events("NewCallerid") == [msg]
    assert rec.events("NewCallerid")[0].get("CallerIDName") == "张三"


async def test_send_action_and_its_timeout(
    server: AmiServer, linked: tuple[AmiLink, Recorder]
) -> None:
    link, _ = linked
    pong = await link.send_action({"Action": "Ping"})
    assert pong.name == "Success" and pong.get("Ping") == "Pong"
    assert pong.get("ActionID")
    own = await link.send_action([("Action", "Ping"), ("ActionID", "mine-1")])
    assert own.get("ActionID") == "mine-1"
    bad = await link.send_action({"Action": "HotlineBogus"})
    assert bad.name == "Error" and "Invalid/unknown command" in (bad.get("Message") or "")
    with pytest.raises(AmiActionError, match="Invalid/unknown command"):
        await link.send_action({"Action": "HotlineBogus"}, check=True)

    async def never(msg: AmiMessage) -> list[AmiMessage]:
        return []  # an action Asterisk never answers

    server.register_action("Stall", never)
    with pytest.raises(AmiActionTimeout, match=r"Stall .*within 0.2 s"):
        await link.send_action({"Action": "Stall"}, timeout=0.2)
    # The link is still fine after a timed-out action.
    assert (await link.send_action({"Action": "Ping"})).name == "Success"
    with pytest.raises(ValueError, match="line break"):
        await link.send_action({"Action": "Originate", "CallerID": "x\r\nAction: Logoff"})


def _core_show_channels(count: int) -> ActionHandler:
    async def handler(msg: AmiMessage) -> list[AmiMessage]:
        # Shaped as in member_ops: ActionID right after Event, EventList start/Complete.
        items = [
            AmiMessage(
                [
                    ("Event", "CoreShowChannel"),
                    ("ActionID", ""),
                    ("Channel", f"Local/agent{i}@agent-robot-0000000{i};2"),
                    ("ChannelState", "6"),
                    ("ChannelStateDesc", "Up"),
                    ("CallerIDNum", "13100131001"),
                    ("CallerIDName", "吴敏"),
                    ("AccountCode", ""),
                    ("Uniqueid", f"1795445568.{i}"),
                    ("Linkedid", "1795445560.0"),
                    ("BridgeId", ""),
                ]
            )
            for i in range(count)
        ]
        return [
            AmiMessage(
                [
                    ("Response", "Success"),
                    ("ActionID", ""),
                    ("EventList", "start"),
                    ("Message", "Channels will follow"),
                ]
            ),
            *items,
            AmiMessage(
                [
                    ("Event", "CoreShowChannelsComplete"),
                    ("ActionID", ""),
                    ("EventList", "Complete"),
                    ("ListItems", str(count)),
                ]
            ),
        ]

    return handler


async def test_send_list_action_collects_the_list_and_keeps_it_from_on_message(
    server: AmiServer, linked: tuple[AmiLink, Recorder]
) -> None:
    link, rec = linked
    server.register_action("CoreShowChannels", _core_show_channels(4))
    await rec.wait(lambda: bool(rec.events("SuccessfulAuth")))
    before = len(rec.messages)
    # An unsolicited event racing with the list still reaches on_message, in order.
    listing, _ = await asyncio.gather(
        link.send_list_action({"Action": "CoreShowChannels"}),
        server.broadcast(AmiMessage([("Event", "Hangup"), ("Uniqueid", "1.1")])),
    )
    assert [m.name for m in listing] == ["Success"] + ["CoreShowChannel"] * 4 + [
        "CoreShowChannelsComplete"
    ]
    action_id = listing[0].get("ActionID")
    assert all(m.get("ActionID") == action_id for m in listing)
    assert listing[1].get("CallerIDName") == "吴敏" and listing[1].get("AccountCode") == ""
    await rec.wait(lambda: bool(rec.events("Hangup")))
    assert [m.name for m in rec.messages[before:]] == ["Hangup"]
    # send_action on a list action returns the response and still swallows the list.
    response = await link.send_action({"Action": "CoreShowChannels"})
    assert response.get("EventList") == "start"
    await server.broadcast(AmiMessage([("Event", "Marker")]))
    await rec.wait(lambda: bool(rec.events("Marker")))
    assert [m.name for m in rec.messages[before:]] == ["Hangup", "Marker"]
    # A list that never completes times out with a clear error.
    server.register_action("CoreShowChannels", _cut_list)
    with pytest.raises(AmiActionTimeout, match="complete list"):
        await link.send_list_action({"Action": "CoreShowChannels"}, timeout=0.3)


async def _cut_list(msg: AmiMessage) -> list[AmiMessage]:
    return [
        AmiMessage(
            [
                ("Response", "Success"),
                ("ActionID", ""),
                ("EventList", "start"),
                ("Message", "Channels will follow"),
            ]
        )
    ]


async def test_bad_auth_is_a_clear_logged_error_retried_with_backoff(
    server: AmiServer, caplog: pytest.LogCaptureFixture
) -> None:
    rec = Recorder()
    link = make_link(server, rec, secret="wrong-secret", reconnect_min=0.1, reconnect_max=0.4)
    with caplog.at_level(logging.INFO, logger="acd.ami.link"):
        await link.start()
        try:
            await server.wait_until(lambda: len(server.login_attempts) >= 4, timeout=10)
            assert not link.connected
            with pytest.raises(AmiNotConnected):
                await link.send_action({"Action": "Ping"})
        finally:
            await link.stop()
    attempts = server.login_attempts[:4]
    assert not any(a.accepted for a in attempts)
    gaps = [b.at - a.at for a, b in itertools.pairwise(attempts)]
    # Backoff: never faster than reconnect_min, and the ceiling of the jitter grows.
    assert all(gap >= 0.1 * 0.9 for gap in gaps), gaps
    assert max(gaps) >= 0.2 * 0.9, gaps
    assert rec.connects == 0 and rec.disconnects == []
    assert link.state["last_error"] is not None
    assert "Authentication failed" in link.state["last_error"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "Authentication failed" in errors[0].getMessage()
    assert "'hotline'" in errors[0].getMessage()


async def test_dropped_connection_reconnects_and_resyncs(
    server: AmiServer, linked: tuple[AmiLink, Recorder]
) -> None:
    link, rec = linked
    await rec.wait(lambda: rec.connects == 1)
    server.drop_clients()
    await rec.wait(lambda: len(rec.disconnects) == 1)
    assert not link.connected
    await rec.wait(lambda: rec.connects == 2)
    await link.wait_connected(5)
    assert link.state["reconnects"] == 1
    await server.broadcast(AmiMessage([("Event", "AfterReconnect")]))
    await rec.wait(lambda: bool(rec.events("AfterReconnect")))
    assert (await link.send_action({"Action": "Ping"})).name == "Success"


async def test_in_flight_action_fails_cleanly_when_the_connection_drops(
    server: AmiServer, linked: tuple[AmiLink, Recorder]
) -> None:
    link, rec = linked
    server.pause_responses = True
    pending = asyncio.ensure_future(link.send_action({"Action": "Ping"}, timeout=5))
    await server.wait_until(lambda: any(m.get("Action") == "Ping" for m in server.actions_seen))
    server.pause_responses = False
    server.drop_clients()
    with pytest.raises(AmiConnectionLost):
        await pending
    await rec.wait(lambda: rec.connects == 2)


async def test_silent_server_is_caught_by_the_ping_deadline(
    server: AmiServer, caplog: pytest.LogCaptureFixture
) -> None:
    rec = Recorder()
    link = make_link(server, rec, ping_interval=0.1, ping_timeout=0.3, action_timeout=1.0)
    with caplog.at_level(logging.WARNING, logger="acd.ami.link"):
        await link.start()
        try:
            await rec.wait(lambda: rec.connects == 1)
            assert (await link.send_action({"Action": "Ping"})).name == "Success"
            server.pause_responses = True  # socket stays open, nothing answers any more
            await rec.wait(lambda: len(rec.disconnects) == 1)
            assert "Ping" in rec.disconnects[0]
            assert "no answer to Ping" in (link.state["last_error"] or "")
            server.pause_responses = False
            await rec.wait(lambda: rec.connects == 2)
            assert link.connected
        finally:
            await link.stop()
    assert "declared dead" in caplog.text


async def test_malformed_frame_is_skipped_and_the_link_goes_on(
    server: AmiServer, linked: tuple[AmiLink, Recorder], caplog: pytest.LogCaptureFixture
) -> None:
    link, rec = linked
    await rec.wait(lambda: bool(rec.events("SuccessfulAuth")))
    with caplog.at_level(logging.WARNING, logger="acd.ami.framing"):
        await server.broadcast(AmiMessage([("Event", "First")]))
        await server.broadcast_raw(b"Event: Bad\r\nthis line has no colon\r\n\r\n")
        await server.broadcast_raw(b"Event: Bytes\r\nName: \xe5\xbc\r\n\r\n")
        await server.broadcast(AmiMessage([("Event", "Second"), ("Name", "李四")]))
        await rec.wait(lambda: bool(rec.events("Second")))
    names = [m.name for m in rec.messages]
    # The frame that is not UTF-8 is read as GB18030 and kept; only the broken one is skipped.
    assert names[-3:] == ["First", "Bytes", "Second"]
    assert link.state["skipped_frames"] == 1
    assert "no colon" in caplog.text
    assert (await link.send_action({"Action": "Ping"})).name == "Success"


async def test_a_failing_consumer_does_not_stop_the_stream(
    server: AmiServer, caplog: pytest.LogCaptureFixture
) -> None:
    got: list[str] = []
    done = asyncio.Event()

    def consumer(msg: AmiMessage) -> None:
        if msg.name == "Boom":
            raise RuntimeError("consumer bug")
        got.append(msg.name)
        if msg.name == "After":
            done.set()

    link = AmiLink("127.0.0.1", server.port, "hotline", SECRET, on_message=consumer)
    await link.start()
    try:
        await link.wait_connected(5)
        with caplog.at_level(logging.ERROR, logger="acd.ami.link"):
            await server.broadcast(AmiMessage([("Event", "Boom")]))
            await server.broadcast(AmiMessage([("Event", "After")]))
            await asyncio.wait_for(done.wait(), 5)
        assert "on_message failed" in caplog.text
    finally:
        await link.stop()


async def test_stop_logs_off_and_does_not_reconnect(server: AmiServer) -> None:
    rec = Recorder()
    link = make_link(server, rec)
    await link.start()
    await link.wait_connected(5)
    await link.stop()
    assert any(m.get("Action") == "Logoff" for m in server.actions_seen)
    await server.wait_until(lambda: server.connections == 0)
    assert not link.connected and link.state["connected"] is False
    assert len(server.login_attempts) == 1


async def test_connection_refused_is_retried(server: AmiServer) -> None:
    # A port with nobody listening, then a server appears there.
    port = server.port
    await server.close()
    rec = Recorder()
    link = AmiLink(
        "127.0.0.1",
        port,
        "hotline",
        SECRET,
        on_message=rec.on_message,
        on_connected=rec.on_connected,
        reconnect_min=0.05,
        reconnect_max=0.2,
    )
    await link.start()
    try:
        late = AmiServer(port=port, secret=SECRET)
        try:
            await link.wait_until(lambda: link.state["last_error"] is not None, timeout=5)
            assert "cannot connect" in link.state["last_error"]
            await late.start()
            await link.wait_connected(5)
            assert rec.connects == 1
        finally:
            await link.stop()
            await late.close()
    finally:
        await link.stop()


async def test_connection_closed_during_login_fails_fast_and_retries(
    server: AmiServer,
) -> None:
    async def hang_up(msg: AmiMessage) -> list[AmiMessage]:
        server.drop_clients()
        return []

    server.register_action("Login", hang_up)
    rec = Recorder()
    # A long action timeout: the retry must come from the closed socket, not from a timeout.
    link = make_link(server, rec, action_timeout=30.0, reconnect_min=0.05, reconnect_max=0.1)
    await link.start()
    try:
        await server.wait_until(lambda: len(server.actions_seen) >= 3, timeout=5)
        await link.wait_until(lambda: "before an answer" in (link.state["last_error"] or ""), 5)
        assert not link.connected and rec.connects == 0
    finally:
        await link.stop()
