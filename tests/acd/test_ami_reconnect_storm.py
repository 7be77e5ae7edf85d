"""Issue 7 item 9: an Asterisk that accepts the AMI login and hangs up at once.

The link must not log in again every reconnect_min forever: the delays keep growing until a
connection has stayed up for ``stable_after`` seconds. A loopback server does the accepting
and hanging up over real TCP; the link's clock and sleep are injected, so the test reads
the delays instead of timing them.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from acd.ami import AmiLink, AmiMessage

SECRET = "hotline-secret"


@dataclass
class AcceptThenHangUp:
    """Answers every login with Success, then closes, unless told to hold the connection."""

    logins: int = 0
    hold: asyncio.Event | None = None
    released: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(b"Asterisk Call Manager/11.0.0\r\n")
            request = await reader.readuntil(b"\r\n\r\n")
            fields = dict(
                line.split(": ", 1) for line in request.decode().split("\r\n") if ": " in line
            )
            reply = AmiMessage(
                [
                    ("Response", "Success"),
                    ("ActionID", fields.get("ActionID", "")),
                    ("Message", "Authentication accepted"),
                ]
            )
            writer.write(reply.to_bytes())
            await writer.drain()
            self.logins += 1
            if self.hold is not None:
                hold, self.hold = self.hold, None
                await hold.wait()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self.released.set()


@dataclass
class FakeTime:
    """A clock that moves only when the link sleeps (or the test says so)."""

    now: float = 1000.0
    delays: list[float] = field(default_factory=list)
    slept: asyncio.Event = field(default_factory=asyncio.Event)

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        self.now += delay
        self.slept.set()
        await asyncio.sleep(0)

    async def until(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.delays) < count:
                self.slept.clear()
                await self.slept.wait()


@pytest.fixture
async def pbx() -> AsyncIterator[AcceptThenHangUp]:
    peer = AcceptThenHangUp()
    server = await asyncio.start_server(peer.handle, "127.0.0.1", 0)
    peer.port = server.sockets[0].getsockname()[1]
    async with server:
        yield peer


def _link(pbx: AcceptThenHangUp, fake: FakeTime) -> AmiLink:
    return AmiLink(
        "127.0.0.1",
        pbx.port,
        "hotline",
        SECRET,
        on_message=lambda msg: None,
        reconnect_min=0.5,
        reconnect_max=30.0,
        stable_after=30.0,
        clock=fake.clock,
        sleep=fake.sleep,
    )


async def test_delays_grow_while_every_login_is_hung_up_at_once(pbx: AcceptThenHangUp) -> None:
    fake = FakeTime()
    link = _link(pbx, fake)
    await link.start()
    try:
        await fake.until(12)
    finally:
        await link.stop()
    delays = fake.delays[:12]
    assert pbx.logins >= 11  # the server did accept every login
    # Doubling (jitter: each draw in [base/2, base]) until the ceiling, then near it.
    floors = [max(0.5, min(30.0, 0.5 * 2**n) / 2) for n in range(len(delays))]
    assert all(delay >= floor for delay, floor in zip(delays, floors, strict=True)), delays
    assert all(later >= earlier for earlier, later in itertools.pairwise(delays[:7])), delays
    assert delays[0] == 0.5
    assert min(delays[6:]) >= 30.0 / 2  # not 0.5 s forever
    assert max(delays) <= 30.0


async def test_a_connection_that_lasted_starts_the_delays_again(pbx: AcceptThenHangUp) -> None:
    fake = FakeTime()
    link = _link(pbx, fake)
    await link.start()
    try:
        await fake.until(6)
        grown = fake.delays[-1]
        # The next connection stays up for 31 s of the link's clock before it is hung up.
        hold = pbx.hold = asyncio.Event()
        pbx.released.clear()
        await link.wait_until(lambda: pbx.hold is None and link.connected, timeout=10)
        fake.now += 31.0
        hold.set()
        count = len(fake.delays)
        await fake.until(count + 1)
    finally:
        await link.stop()
    assert grown >= 0.5 * 2**4 / 2
    assert fake.delays[count] == 0.5  # back to reconnect_min: the peer had recovered
