from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from events.payloads import problems as payload_problems
from ivr.app import IvrApplication, create_ivr_server
from ivr.fastagi import FastAgiServer
from ivr.incidents import IncidentBoard
from ivr.menu_source import DEFAULT_MENU, MenuSource

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# A Wednesday at 10:00 in Beijing: every queue of the default menu is open.
WORKDAY_MORNING = dt.datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)


@dataclass
class Events:
    items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Payloads that break events.payloads' contract (checked when the test's IVR stops).
    problems: list[str] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, topic: str, payload: dict[str, Any]) -> None:
        self.items.append((topic, payload))
        self.problems.extend(payload_problems(topic, payload))
        self._arrived.set()

    async def wait(self, topic: str, count: int = 1, limit: float = 5.0) -> list[dict[str, Any]]:
        """Wait until ``count`` events of ``topic`` were published; return them."""
        async with asyncio.timeout(limit):
            while len(self.of(topic)) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.of(topic)

    def of(self, topic: str) -> list[dict[str, Any]]:
        return [payload for t, payload in self.items if t == topic]

    def finished(self, uniqueid: str) -> dict[str, Any]:
        found = [p for p in self.of("ivr.finished") if p["uniqueid"] == uniqueid]
        assert len(found) == 1, found
        return found[0]


@dataclass
class Clock:
    now: dt.datetime = WORKDAY_MORNING

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Ivr:
    server: FastAgiServer
    app: IvrApplication
    events: Events
    board: IncidentBoard
    clock: Clock
    menu_path: Path
    tickets: dict[str, Sequence[str]]

    @property
    def port(self) -> int:
        return self.server.port


@pytest.fixture
def menu_file(tmp_path: Path) -> Path:
    path = tmp_path / "12345.toml"
    shutil.copy(DEFAULT_MENU, path)
    return path


IvrFactory = Callable[..., Awaitable[Ivr]]


@pytest.fixture
async def make_ivr(menu_file: Path) -> AsyncIterator[IvrFactory]:
    built_ivrs: list[Ivr] = []

    async def make(env_timeout: float = 10.0, reply_timeout: float = 10.0) -> Ivr:
        built = await _start(menu_file, env_timeout, reply_timeout)
        built_ivrs.append(built)
        return built

    yield make
    for built in built_ivrs:
        await built.server.stop(grace=2.0)
    for built in built_ivrs:
        assert built.events.problems == []


@pytest.fixture
async def ivr(make_ivr: IvrFactory) -> Ivr:
    return await make_ivr()


async def _start(menu_file: Path, env_timeout: float, reply_timeout: float) -> Ivr:
    events = Events()
    clock = Clock()
    board = IncidentBoard(clock=clock)
    tickets: dict[str, Sequence[str]] = {}

    async def lookup(number: str, caller: str) -> Sequence[str] | None:
        return tickets.get(number)

    app = IvrApplication(
        MenuSource(menu_file), board, events, lookup, clock=clock, safe_defaults_timeout=1.0
    )
    server = create_ivr_server(
        app, host="127.0.0.1", port=0, env_timeout=env_timeout, reply_timeout=reply_timeout
    )
    await server.start()
    return Ivr(server, app, events, board, clock, menu_file, tickets)
