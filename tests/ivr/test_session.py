"""AgiSession against odd but real replies, over a loopback socket pair."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from ivr.agi_protocol import AgiCommandError, AgiProtocolError, AgiTimeout, ChannelHangup
from ivr.session import AgiSession, script_name


class Peer:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def send(self, text: str | bytes) -> None:
        self.sock.sendall(text.encode("utf-8") if isinstance(text, str) else text)


@pytest.fixture
async def pair() -> AsyncIterator[tuple[AgiSession, Peer]]:
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=ours, limit=4096)
    session = AgiSession(
        reader,
        writer,
        {"agi_uniqueid": "1.2", "agi_callerid": "unknown", "agi_arg_2": "b", "agi_arg_1": "a"},
        reply_timeout=2.0,
    )
    yield session, Peer(theirs)
    writer.close()
    theirs.close()


async def test_trying_line_is_skipped(pair: tuple[AgiSession, Peer]) -> None:
    session, peer = pair
    peer.send("100 result=0 Trying...\n200 result=0\n")
    assert (await session.command("EXEC Wait 1")).result == "0"


async def test_usage_text_is_consumed_and_the_session_goes_on(
    pair: tuple[AgiSession, Peer],
) -> None:
    session, peer = pair
    peer.send(
        "520-Invalid command syntax.  Proper usage follows:\n"
        "Usage: GET DATA <file to be streamed> [timeout] [max digits]\n"
        "520 End of proper usage.\n200 result=0\n"
    )
    with pytest.raises(AgiCommandError):
        await session.command("GET DATA")
    await session.answer()


async def test_unknown_command_and_linkedid_fallback(pair: tuple[AgiSession, Peer]) -> None:
    session, peer = pair
    peer.send("510 Invalid or unknown command\n200 result=0\n")
    with pytest.raises(AgiCommandError):
        await session.get_variable("CHANNEL(linkedid)")
    assert await session.get_variable("NOPE") is None


async def test_hangup_line_before_the_reply(pair: tuple[AgiSession, Peer]) -> None:
    session, peer = pair
    peer.send("HANGUP\n200 result=0\n")
    with pytest.raises(ChannelHangup):
        await session.stream_file("hello-world")
    assert session.hung_up
    with pytest.raises(ChannelHangup):  # nothing more is sent on a dead channel
        await session.answer()


async def test_undecodable_and_overlong_lines(pair: tuple[AgiSession, Peer]) -> None:
    session, peer = pair
    peer.send(b"200 result=\xff\xfe\n")
    with pytest.raises(AgiProtocolError, match="undecodable"):
        await session.answer()
    peer.send(b"2" * 10_000 + b"\n")
    with pytest.raises(AgiProtocolError, match="too long"):
        await session.answer()


async def test_no_reply_times_out(pair: tuple[AgiSession, Peer]) -> None:
    session, _ = pair
    session.reply_timeout = 0.05
    with pytest.raises(AgiTimeout):
        await session.answer()


async def test_stream_file_reports_the_interrupting_key(pair: tuple[AgiSession, Peer]) -> None:
    session, peer = pair
    peer.send("200 result=48 endpos=5120\n200 result=0 endpos=11360\n")
    assert await session.stream_file("hotline/welcome", "0") == "0"
    assert await session.stream_file("hotline/welcome", "0") is None


def test_environment_accessors(pair: tuple[AgiSession, Peer]) -> None:
    session, _ = pair
    assert session.caller_number == ""  # "unknown" is no number
    assert session.args == ["a", "b"]
    assert script_name("ivr?lang=yue") == "ivr" and script_name("/survey") == "survey"
