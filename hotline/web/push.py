"""Pushes wallboard snapshots to every connected WebSocket, at most once per interval.

The live view has no change notifications of its own, so the pusher looks every
``interval`` seconds and sends only when the content changed; ``poke()`` (e.g. from a bus
subscription to ``call.*``) makes it look sooner, still never more often than ``interval``.
A slow or dead screen is dropped after ``send_timeout``; it never delays the others.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, web

log = logging.getLogger(__name__)


def encode_snapshot(snapshot: dict[str, Any]) -> str:
    return json.dumps({"type": "wallboard", **snapshot}, ensure_ascii=False, default=str)


def _content(snapshot: dict[str, Any]) -> str:
    # The timestamp alone changing is not news.
    return json.dumps({k: v for k, v in snapshot.items() if k != "at"}, default=str)


class WallboardPusher:
    def __init__(
        self,
        snapshot: Callable[[], dict[str, Any]],
        interval: float = 0.5,
        send_timeout: float = 5.0,
    ) -> None:
        self._snapshot = snapshot
        self.interval = interval
        self._send_timeout = send_timeout
        self.clients: set[web.WebSocketResponse] = set()
        self._poked = asyncio.Event()
        self._last_content: str | None = None
        self._last_push = float("-inf")
        self.pushes = 0

    def poke(self, *_: Any) -> None:
        """Something changed: look soon. Usable directly as a bus handler."""
        self._poked.set()

    async def add(self, ws: web.WebSocketResponse) -> None:
        """A new screen: send it the current picture at once, then keep it updated."""
        snapshot = self._snapshot()
        await ws.send_str(encode_snapshot(snapshot))
        self.clients.add(ws)

    def discard(self, ws: web.WebSocketResponse) -> None:
        self.clients.discard(ws)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await asyncio.wait_for(self._poked.wait(), timeout=self.interval)
            except TimeoutError:
                pass
            self._poked.clear()
            wait = self._last_push + self.interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)  # rate limit, not a wait for a condition
            if self.clients:
                try:
                    await self.push_if_changed()
                except Exception:
                    log.exception("wallboard: push failed")
                self._last_push = loop.time()

    async def push_if_changed(self) -> bool:
        snapshot = self._snapshot()
        content = _content(snapshot)
        if content == self._last_content:
            return False
        self._last_content = content
        text = encode_snapshot(snapshot)
        clients = list(self.clients)
        results = await asyncio.gather(
            *(asyncio.wait_for(ws.send_str(text), self._send_timeout) for ws in clients),
            return_exceptions=True,
        )
        for ws, result in zip(clients, results, strict=True):
            if isinstance(result, BaseException):
                log.info("wallboard: dropping a screen that did not take an update: %r", result)
                self.clients.discard(ws)
                await ws.close(code=WSCloseCode.GOING_AWAY)
        self.pushes += 1
        return True

    async def close_all(self) -> None:
        for ws in list(self.clients):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
        self.clients.clear()
