"""A wall screen that stops reading is dropped alone; every other screen keeps its updates.

The slow screen is a real WebSocket client on a TCP socket with a tiny receive buffer that
never reads after the handshake, so the server's sends fill the kernel buffers and block.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from typing import Any

from aiohttp.test_utils import TestClient

from hotline.web.app import PUSHER, create_app
from tests.web.auth_helpers import bearer, kiosk_login
from tests.web.conditions import wait_until
from tests.web.fake_live import FakeLive
from ticketing.store import TicketStore

Client = TestClient[Any, Any]


def healthy() -> dict[str, Any]:
    return {"ami": {"ok": True}}


async def _silent_screen(port: int, headers: dict[str, str]) -> asyncio.StreamWriter:
    """Open /ws, read the handshake answer, then never read again."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 20)
    key = base64.b64encode(os.urandom(16)).decode()
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    writer.write(
        (
            "GET /ws HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"{extra}\r\n"
        ).encode()
    )
    await writer.drain()
    status = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert status.startswith(b"HTTP/1.1 101"), status
    return writer


def _grow(live: FakeLive, callers: int) -> None:
    """Make every snapshot several megabytes: more than the kernel buffers hold."""
    live._queues[0]["waiting"] = [
        {"caller": f"1380013{n:04d}", "wait_s": n, "priority": 0, "position": n, "pad": "x" * 60}
        for n in range(callers)
    ]


async def test_a_screen_that_never_reads_is_dropped_and_the_others_keep_updating(
    aiohttp_client: Any, store: TicketStore
) -> None:
    live = FakeLive()
    app = create_app(live, healthy, store=store, push_interval=0.05, push_send_timeout=0.5)
    client: Client = await aiohttp_client(app)
    await kiosk_login(client, store)
    pusher = app[PUSHER]
    headers = await bearer(store, "slow-screen", "wallboard")
    assert client.port is not None
    silent = await _silent_screen(client.port, headers)
    try:
        async with client.ws_connect("/ws", max_msg_size=0) as good:
            await good.receive_json(timeout=5)
            await wait_until(lambda: len(pusher.clients) == 2, what="both screens connected")
            _grow(live, 60_000)

            async def sees(answered: int) -> None:
                live.answered = answered
                while (await good.receive_json(timeout=10))["kpis"]["answered"]["value"] != (
                    answered
                ):
                    pass

            answered = 41
            # Large pushes until the silent screen's buffers are full and it is dropped.
            for _ in range(40):
                answered += 1
                await sees(answered)
                if len(pusher.clients) == 1:
                    break
            assert len(pusher.clients) == 1, "the silent screen was never dropped"
            # The pusher survived: the reading screen still gets every change.
            for _ in range(3):
                answered += 1
                await sees(answered)
    finally:
        silent.close()
