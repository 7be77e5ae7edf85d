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


Abort = Callable[[], None]


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
        # Each screen with the way to cut its connection: a screen whose buffers are full
        # cannot be closed politely (the close frame would queue behind the stuck data).
        self.clients: dict[web.WebSocketResponse, Abort] = {}
        self._poked = asyncio.Event()
        self._last_content: str | None = None
        self._last_push = float("-inf")
        self.pushes = 0
        self.dropped = 0

    def poke(self, *_: Any) -> None:
        """Something changed: look soon. Usable directly as a bus handler."""
        self._poked.set()

    async def add(self, ws: web.WebSocketResponse, abort: Abort) -> bool:
        """A new screen: send it the current picture at once, then keep it updated.
        False (and the connection cut) when the screen does not take the first picture."""
        text = encode_snapshot(self._snapshot())
        self.clients[ws] = abort
        return await self._send(ws, abort, text)

    def discard(self, ws: web.WebSocketResponse) -> None:
        self.clients.pop(ws, None)

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
        clients = list(self.clients.items())
        await asyncio.gather(*(self._send(ws, abort, text) for ws, abort in clients))
        self.pushes += 1
        return True

    async def _send(self, ws: web.WebSocketResponse, abort: Abort, text: str) -> bool:
        """Send to one screen; on any failure of that screen, cut it and say False.

        Nothing a screen does escapes from here: a timed-out send surfaces inside aiohttp
        as a CancelledError, which is not an Exception; only the pusher's own cancellation
        (its task is being cancelled) is let through.
        """
        try:
            await asyncio.wait_for(ws.send_str(text), self._send_timeout)
            return True
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            error: BaseException = TimeoutError("send cancelled")
        except Exception as failure:
            error = failure
        log.info("wallboard: dropping a screen that did not take an update: %r", error)
        self.clients.pop(ws, None)
        self.dropped += 1
        abort()
        return False

    async def close_all(self) -> None:
        for ws, abort in list(self.clients.items()):
            try:
                await asyncio.wait_for(
                    ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown"),
                    self._send_timeout,
                )
            except (Exception, asyncio.CancelledError):
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                abort()
        self.clients.clear()
