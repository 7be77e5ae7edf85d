"""Active and standby ``hotline serve`` processes on one PostgreSQL database.

The process holding ``ticketing.active_lock.ActiveLock`` runs the service; the others wait,
answering /healthz with "standby" (HTTP 503, so a load balancer sends nobody there), and try
the lock again every second. Taking over is an ordinary start: the feeds resynchronise from
AMI, queue_log and cdr_csv from the newest stored call on, as after a restart. A process whose
lock connection breaks stops its service at once and goes back to waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from aiohttp import web

from ticketing.active_lock import ActiveLock

log = logging.getLogger(__name__)


class Service(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


S = TypeVar("S", bound=Service)


class StandbyHealth:
    """/healthz while waiting (the web app proper belongs to the active service)."""

    def __init__(self, host: str, port: int, lock: ActiveLock) -> None:
        self._host, self._port, self._lock = host, port, lock
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        body = {
            "ok": False,
            "role": "standby",
            "degraded": {},
            "components": {"active_lock": self._lock.status()},
        }
        return web.json_response(body, status=503)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port, reuse_address=True)
        await site.start()
        server: Any = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self._port

    async def stop(self) -> None:
        self.port = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def run_active_or_standby(
    lock: ActiveLock,
    make_service: Callable[[], S],
    stop: asyncio.Event,
    standby: StandbyHealth,
    *,
    on_started: Callable[[S], None] | None = None,
) -> None:
    """Until ``stop``: wait for the lock, run a service while it is held, and again."""
    while not stop.is_set():
        await standby.start()
        log.info("hotline standby: waiting for the active lock (/healthz on port %s)", standby.port)
        try:
            acquired = await lock.acquire(stop)
        finally:
            await standby.stop()
        if not acquired:
            return
        log.info("hotline active: took the lock, starting the service")
        service = make_service()
        try:
            await service.start()
            if on_started is not None:
                on_started(service)
            lost = asyncio.create_task(lock.wait_lost(), name="active-lock")
            stopping = asyncio.create_task(stop.wait(), name="stop")
            await asyncio.wait({lost, stopping}, return_when=asyncio.FIRST_COMPLETED)
            for task in (lost, stopping):
                task.cancel()
            await asyncio.gather(lost, stopping, return_exceptions=True)
        finally:
            await service.stop()
            await lock.release()
        if not stop.is_set():
            log.warning("hotline: lost the active lock; back to standby")
