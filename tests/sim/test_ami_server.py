"""The loopback AMI server answers as the real Asterisk 22 in the captures (raw TCP clients)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from acd.ami.framing import AmiFramer
from acd.ami.message import AmiMessage
from hotline.sim.ami_server import BANNER, AmiServer, event_frames, replay
from tests.captures import load_messages, raw_bytes

SECRET = "hotline-secret"


class RawClient:
    """A bare AMI client on a socket: writes actions, reads whole messages."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.framer = AmiFramer()
        self.inbox: list[AmiMessage] = []
        self.raw = b""

    @classmethod
    async def connect(cls, server: AmiServer) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        return cls(reader, writer)

    async def send(self, *fields: tuple[str, str]) -> None:
        self.writer.write(AmiMessage(list(fields)).to_bytes())
        await self.writer.drain()

    async def read(self, count: int = 1) -> list[AmiMessage]:
        async with asyncio.timeout(5):
            while len(self.inbox) < count:
                data = await self.reader.read(65536)
                if not data:
                    raise EOFError(f"closed after {self.inbox!r}")
                self.raw += data
                self.inbox += self.framer.feed(data)
        out, self.inbox = self.inbox[:count], self.inbox[count:]
        return out

    async def read_until_eof(self) -> bytes:
        async with asyncio.timeout(5):
            while data := await self.reader.read(65536):
                self.raw += data
        return self.raw

    async def login(self, secret: str = SECRET, action_id: str = "act-01") -> list[AmiMessage]:
        await self.send(
            ("Action", "Login"),
            ("ActionID", action_id),
            ("Username", "hotline"),
            ("Secret", secret),
        )
        return await self.read(3)  # response, FullyBooted, SuccessfulAuth

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
async def server() -> AsyncIterator[AmiServer]:
    async with AmiServer(secret=SECRET, badauth_delay=0.05) as srv:
        yield srv


def _keys(msg: AmiMessage) -> list[str]:
    return [k for k, _ in msg.fields]


async def test_login_answers_as_asterisk(server: AmiServer) -> None:
    capture = load_messages("member_ops")
    client = await RawClient.connect(server)
    response, booted, auth = await client.login()
    assert client.raw.startswith(BANNER) and client.framer.version == "11.0.0"
    assert response == capture[0]  # Success / act-01 / Authentication accepted
    assert _keys(booted) == _keys(capture[1]) and booted.get("Status") == "Fully Booted"
    captured_auth = next(m for m in capture if m.name == "SuccessfulAuth")
    assert _keys(auth) == _keys(captured_auth)
    for key in ("Privilege", "Severity", "Service", "EventVersion", "AccountID", "UsingPassword"):
        assert auth.get(key) == captured_auth.get(key)
    client.close()


async def test_bad_auth_as_in_the_capture(server: AmiServer) -> None:
    watcher = await RawClient.connect(server)
    await watcher.login()
    bad = await RawClient.connect(server)
    await bad.send(
        ("Action", "Login"),
        ("ActionID", "bad-01"),
        ("Username", "hotline"),
        ("Secret", "wrong-secret"),
    )
    # Byte for byte what the bad client of member_ops received, then Asterisk hangs up.
    assert await bad.read_until_eof() == raw_bytes("member_ops", "ami_badauth.raw")
    assert [m.fields for m in AmiFramer().feed(bad.raw)] == [
        m.fields for m in load_messages("member_ops", "ami_badauth.jsonl")
    ]
    # The logged-in client hears of it, with the capture's fields in the capture's order.
    (event,) = await watcher.read()
    captured = next(m for m in load_messages("member_ops") if m.name == "InvalidPassword")
    assert _keys(event) == _keys(captured)
    for key in ("Privilege", "Severity", "Service", "EventVersion", "AccountID", "SessionTV"):
        assert event.get(key) == captured.get(key)
    assert [(a.username, a.accepted) for a in server.login_attempts] == [
        ("hotline", True),
        ("hotline", False),
    ]
    watcher.close()


async def test_ping_unknown_action_and_logoff(server: AmiServer) -> None:
    capture = {m.get("ActionID"): m for m in load_messages("member_ops") if m.kind == "response"}
    client = await RawClient.connect(server)
    await client.login()
    await client.send(("Action", "Ping"), ("ActionID", "act-03"))
    (pong,) = await client.read()
    assert _keys(pong) == _keys(capture["act-03"]) and pong.get("Ping") == "Pong"
    await client.send(("Action", "Events"), ("ActionID", "act-02"), ("EventMask", "on"))
    assert await client.read() == [capture["act-02"]]
    await client.send(("Action", "HotlineBogus"), ("ActionID", "act-19"), ("Foo", "bar"))
    error, bad_format = await client.read(2)
    assert error == capture["act-19"]
    captured = next(m for m in load_messages("member_ops") if m.name == "RequestBadFormat")
    assert _keys(bad_format) == _keys(captured)
    assert bad_format.get("RequestType") == "Action: HotlineBogus"
    await client.send(("Action", "Logoff"), ("ActionID", "act-21"))
    assert await client.read() == [capture["act-21"]]  # Goodbye / Thanks for all the fish.
    tail = await client.read_until_eof()
    assert tail.endswith(capture["act-21"].to_bytes())
    await server.wait_until(lambda: server.connections == 0)


async def test_events_only_reach_logged_in_clients(server: AmiServer) -> None:
    anonymous = await RawClient.connect(server)
    member = await RawClient.connect(server)
    await member.login()
    await server.wait_until(lambda: server.logged_in_clients == 1)
    await server.broadcast(AmiMessage([("Event", "Newchannel"), ("CallerIDName", "陈静")]))
    (event,) = await member.read()
    assert event.get("CallerIDName") == "陈静"
    # Before login, actions are refused and nothing was broadcast to this socket.
    await anonymous.send(("Action", "Ping"), ("ActionID", "p1"))
    (refused,) = await anonymous.read()
    assert refused.fields == [
        ("Response", "Error"),
        ("ActionID", "p1"),
        ("Message", "Permission denied"),
    ]
    anonymous.close()
    member.close()


async def test_registered_handler_gets_its_action_id_filled(server: AmiServer) -> None:
    async def queue_status(msg: AmiMessage) -> list[AmiMessage]:
        assert msg.get("Queue") == "hotline-general"
        return [
            AmiMessage(
                [
                    ("Response", "Success"),
                    ("EventList", "start"),
                    ("Message", "Queue status will follow"),
                ]
            ),
            AmiMessage(
                [("Event", "QueueParams"), ("Queue", "hotline-general"), ("ActionID", "")]
            ),  # placeholder: ActionID last, as Asterisk does
            AmiMessage(
                [("Event", "QueueStatusComplete"), ("EventList", "Complete"), ("ListItems", "1")]
            ),
        ]

    server.register_action("QueueStatus", queue_status)
    client = await RawClient.connect(server)
    await client.login()
    await client.send(("Action", "queuestatus"), ("ActionID", "q-1"), ("Queue", "hotline-general"))
    start, params, complete = await client.read(3)
    assert start.fields[:2] == [("Response", "Success"), ("ActionID", "q-1")]
    assert params.fields[-1] == ("ActionID", "q-1")
    assert complete.fields[1] == ("ActionID", "q-1")
    client.close()


@pytest.mark.parametrize("chunks", [None, [1], [3, 997, 40000]])
async def test_replay_streams_the_capture_events_byte_exact(
    server: AmiServer, chunks: list[int] | None
) -> None:
    raw = raw_bytes("member_ops")
    client = await RawClient.connect(server)
    await client.login()
    start = len(client.raw)
    if chunks is None:
        sent = await server.replay(raw)
    else:
        sent = await replay(server, raw, chunk_sizes=chunks)
    expected = [m for m in load_messages("member_ops") if m.kind == "event"]
    assert sent == len(expected) == len(event_frames(raw))
    got = await client.read(sent)
    assert got == expected
    assert client.raw[start:] == b"".join(event_frames(raw))
    client.close()


async def test_drop_clients_and_pause_responses(server: AmiServer) -> None:
    client = await RawClient.connect(server)
    await client.login()
    server.pause_responses = True
    await client.send(("Action", "Ping"), ("ActionID", "silent"))
    await server.wait_until(lambda: any(m.get("ActionID") == "silent" for m in server.actions_seen))
    server.pause_responses = False
    await client.send(("Action", "Ping"), ("ActionID", "heard"))
    (pong,) = await client.read()
    assert pong.get("ActionID") == "heard"  # the paused Ping was never answered
    server.drop_clients()
    with pytest.raises((EOFError, ConnectionError)):
        await client.read()
    await server.wait_until(lambda: server.connections == 0)
