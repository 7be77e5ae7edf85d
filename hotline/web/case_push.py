"""Live case lists: the case console's WebSocket (``/ws/cases``) is told when a case it may
see changes — dispatched to the unit, chased, overdue, answered, called back — so a chase
reaches the unit's staff without a reload.

Where the change comes from does not matter: every change to a case appends a history event
in the same transaction (ticketing.workflow.cases), so the watcher reads the events after the
last one it saw. It looks every ``interval`` seconds while a console is open (never when none
is), and sooner when poked (a ``case.*`` event on the bus: the chase scheduler). Changes made
by another process — the standby service, a department's system on the API — arrive the same
way. A message names the case only: the page reloads its list through the routes, which apply
the roles; unit staff are told only of their unit's (and sub-units') cases. A slow or dead
screen is cut after ``send_timeout``; a failing store is retried at the next look.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from aiohttp import WSMsgType, web

from hotline.web.api_cases import READERS, case_actor, case_store, scope_of
from hotline.web.auth import AUTH, principal
from hotline.web.errors import Unavailable, error_response
from hotline.web.routes import RouteTable

log = logging.getLogger(__name__)

routes = RouteTable()


@runtime_checkable
class CaseChanges(Protocol):
    def case_changes_after(
        self, after: int | None
    ) -> Awaitable[tuple[int, list[dict[str, Any]]]]: ...


@dataclass(frozen=True, slots=True)
class CaseScreen:
    """One open case console: whose, which units' cases it may hear of (None: every case),
    how to cut it, and whether its session still holds."""

    owner: str
    scope: frozenset[str] | None
    abort: Callable[[], None]
    valid: Callable[[], Awaitable[bool]]

    def concerns(self, change: dict[str, Any]) -> bool:
        if self.scope is None:
            return True
        units = {
            change.get("handling_unit"),
            *change.get("co_units", ()),
            *change.get("units_before", ()),
        }
        return not self.scope.isdisjoint(units)


class CasePushes:
    def __init__(
        self, store: CaseChanges, interval: float = 1.0, send_timeout: float = 5.0
    ) -> None:
        self._store = store
        self.interval = interval
        self._send_timeout = send_timeout
        self.screens: dict[web.WebSocketResponse, CaseScreen] = {}
        self._poked = asyncio.Event()
        self._last: int | None = None  # the last history event seen (None: not watching)
        self.sent = 0
        self.last_error: str | None = None

    def poke(self, *_: Any) -> None:
        """A case changed (a bus event): look now. Usable directly as a bus handler."""
        self._poked.set()

    async def add(self, ws: web.WebSocketResponse, screen: CaseScreen) -> None:
        if not self.screens:
            # Start watching from now: the page loads its lists itself once connected.
            await self._look()
        self.screens[ws] = screen

    def discard(self, ws: web.WebSocketResponse) -> None:
        self.screens.pop(ws, None)
        if not self.screens:
            self._last = None

    async def run(self) -> None:
        """Look for changes while any console is open; forever (cancel to stop)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), self.interval)
            self._poked.clear()
            if self.screens:
                await self._look()

    async def _look(self) -> None:
        try:
            last, changes = await self._store.case_changes_after(self._last)
        except Exception as error:  # the database away: the next look tries again
            if self.last_error is None:
                log.warning("case push: cannot read case changes (retrying): %s", error)
            self.last_error = str(error) or type(error).__name__
            return
        self.last_error = None
        self._last = last
        for change in changes:
            message = json.dumps(
                {"type": "case", **{k: change[k] for k in ("number", "kind", "status")}},
                ensure_ascii=False,
            )
            for ws, screen in list(self.screens.items()):
                if screen.concerns(change):
                    await self._send(ws, screen, message)

    async def _send(self, ws: web.WebSocketResponse, screen: CaseScreen, text: str) -> None:
        try:
            await asyncio.wait_for(ws.send_str(text), self._send_timeout)
            self.sent += 1
            return
        except (TimeoutError, ConnectionError, RuntimeError) as error:
            log.info("case push: dropping %s's console: %r", screen.owner, error)
        self.discard(ws)
        screen.abort()

    async def close_user(self, username: str) -> None:
        """The user's sessions ended (logout, disabled): close their consoles now."""
        for ws, screen in list(self.screens.items()):
            if screen.owner == username:
                self.discard(ws)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(message=b"session ended"), self._send_timeout)

    async def recheck(self) -> None:
        """Close the consoles whose session no longer holds (changed in another process)."""
        for ws, screen in list(self.screens.items()):
            if not await screen.valid():
                self.discard(ws)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(message=b"session ended"), self._send_timeout)

    async def close_all(self) -> None:
        for ws in list(self.screens):
            self.discard(ws)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), self._send_timeout)


CASE_PUSHES = web.AppKey("case_pushes", CasePushes)


@routes.get(
    "/ws/cases",
    READERS,
    summary="The case console's WebSocket: the cases this user may see, as they change",
    statuses=(101, 400, 403, 503),
    page=True,
)
async def case_socket(request: web.Request) -> web.StreamResponse:
    # Browsers send cookies with cross-site WebSocket handshakes too: accept only our pages.
    origin = request.headers.get("Origin")
    if origin is not None and origin.partition("://")[2] != request.host:
        return error_response(403, "auth.origin", "cross-origin WebSocket refused")
    pushes = request.app.get(CASE_PUSHES)
    if pushes is None:
        raise Unavailable("no case store on this server")
    store = case_store(request)
    actor = await case_actor(request, store)
    scope = await scope_of(store, actor)
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    who = principal(request)
    auth = request.app[AUTH]
    transport = request.transport
    screen = CaseScreen(
        who.username,
        None if scope is None else frozenset(scope),
        transport.abort if transport else lambda: None,
        lambda: auth.still_valid(who),
    )
    await pushes.add(ws, screen)
    try:
        await ws.send_str(json.dumps({"type": "hello", "username": who.username}))
        async for message in ws:
            # The console only listens here; its actions are JSON routes (CSRF-checked).
            if message.type == WSMsgType.ERROR:
                log.info("case push: connection error: %s", ws.exception())
    finally:
        pushes.discard(ws)
    return ws


async def run_case_pushes(app: web.Application) -> AsyncIterator[None]:
    """The watcher and the session recheck of the open consoles, for the app's lifetime."""
    pushes = app.get(CASE_PUSHES)
    if pushes is None:
        yield
        return
    tasks = [asyncio.create_task(pushes.run(), name="case-pushes")]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await pushes.close_all()
