"""Pushes wallboard snapshots to every connected WebSocket, at most once per interval.

The live view has no change notifications of its own, so the pusher looks every
``interval`` seconds and sends only when the content changed; ``poke()`` (e.g. from a bus
subscription to ``call.*``) makes it look sooner, still never more often than ``interval``.
A slow or dead screen is dropped after ``send_timeout``; it never delays the others.
Each screen belongs to a signed-in user: ``close_user`` closes a user's screens at once
(logout), and ``recheck`` closes those whose session no longer holds (a password change or
a disabled user, possibly from another process).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSCloseCode, web

log = logging.getLogger(__name__)


def encode_snapshot(snapshot: dict[str, Any]) -> str:
    return json.dumps({"type": "wallboard", **snapshot}, ensure_ascii=False, default=str)


def _content(snapshot: dict[str, Any]) -> str:
    # The timestamp alone changing is not news.
    return json.dumps({k: v for k, v in snapshot.items() if k != "at"}, default=str)


Abort = Callable[[], None]


async def _always_valid() -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Screen:
    """How to cut a screen's connection, whose it is, and whether its session still holds."""

    abort: Abort
    owner: str = ""
    valid: Callable[[], Awaitable[bool]] = _always_valid


class WallboardPusher:
    def __init__(
        self,
        snapshot: Callable[[], dict[str, Any]],
        interval: float = 0.5,
        send_timeout: float = 5.0,
        keepalive: float | None = None,
    ) -> None:
        self._snapshot = snapshot
        self.interval = interval
        # Send an unchanged picture again after this many seconds (None: only changes).
        self.keepalive = keepalive
        self._send_timeout = send_timeout
        # Each screen with the way to cut its connection: a screen whose buffers are full
        # cannot be closed politely (the close frame would queue behind the stuck data).
        self.clients: dict[web.WebSocketResponse, Screen] = {}
        self._poked = asyncio.Event()
        self._last_content: str | None = None
        self._last_push = float("-inf")
        self._last_sent = float("-inf")  # loop time of the last picture actually sent
        self.pushes = 0
        self.dropped = 0

    def poke(self, *_: Any) -> None:
        """Something changed: look soon. Usable directly as a bus handler."""
        self._poked.set()

    async def add(self, ws: web.WebSocketResponse, screen: Screen | Abort) -> bool:
        """A new screen: send it the current picture at once, then keep it updated.
        False (and the connection cut) when the screen does not take the first picture."""
        if not isinstance(screen, Screen):
            screen = Screen(screen)
        text = encode_snapshot(self._snapshot())
        self.clients[ws] = screen
        return await self._send(ws, screen.abort, text)

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
                due = self.keepalive is not None and (
                    loop.time() - self._last_sent >= self.keepalive
                )
                try:
                    await self.push_if_changed(force=due)
                except Exception:
                    log.exception("wallboard: push failed")
                self._last_push = loop.time()

    async def push_if_changed(self, *, force: bool = False) -> bool:
        snapshot = self._snapshot()
        content = _content(snapshot)
        if content == self._last_content and not force:
            return False
        self._last_content = content
        text = encode_snapshot(snapshot)
        clients = list(self.clients.items())
        await asyncio.gather(*(self._send(ws, screen.abort, text) for ws, screen in clients))
        self._last_sent = asyncio.get_running_loop().time()
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

    async def close_user(self, username: str) -> None:
        """Close every screen of ``username`` (their sessions just ended)."""
        for ws, screen in list(self.clients.items()):
            if screen.owner == username:
                await self._close(ws, screen, b"session ended")

    async def recheck(self) -> None:
        """Close the screens whose session no longer holds. A store that cannot answer
        closes nothing: an outage is not a logout."""
        for ws, screen in list(self.clients.items()):
            try:
                valid = await screen.valid()
            except Exception as error:
                log.warning("wallboard: cannot re-check a screen's session: %r", error)
                continue
            if not valid:
                log.info("wallboard: closing %s's screen: the session has ended", screen.owner)
                await self._close(ws, screen, b"session ended")

    async def recheck_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)  # a period, not a wait for a condition
            await self.recheck()

    async def _close(self, ws: web.WebSocketResponse, screen: Screen, why: bytes) -> None:
        self.clients.pop(ws, None)
        code = WSCloseCode.GOING_AWAY if why == b"server shutdown" else WSCloseCode.POLICY_VIOLATION
        try:
            await asyncio.wait_for(ws.close(code=code, message=why), self._send_timeout)
        except (Exception, asyncio.CancelledError):
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            screen.abort()  # its buffers are full: the close frame cannot get through

    async def close_all(self) -> None:
        for ws, screen in list(self.clients.items()):
            await self._close(ws, screen, b"server shutdown")
        self.clients.clear()
