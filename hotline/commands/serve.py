"""``hotline serve``: the pipeline against a real Asterisk (AMI host, port, user, secret from
the settings). Runs until SIGINT/SIGTERM, then stops in order and flushes pending calls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import click
from sqlalchemy.exc import SQLAlchemyError

from hotline.commands.database_errors import database_problem
from hotline.commands.log_level import log_level_option
from hotline.ivr_build import IvrStartError
from hotline.service import HotlineService
from hotline.settings import Settings, load_settings
from hotline.standby import StandbyHealth, run_active_or_standby
from ticketing.active_lock import ActiveLock

log = logging.getLogger("hotline")


async def run_service() -> None:
    settings = load_settings()
    if not settings.ami.secret.get_secret_value():
        raise click.UsageError(
            "setting ami.secret is empty: set it in hotline.toml or HOTLINE_AMI__SECRET"
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    lock = ActiveLock.for_url(settings.database.url)
    try:
        if lock is None:
            # SQLite: one process, no standby.
            service = HotlineService(settings)
            await _start(service, settings)
            try:
                await stop.wait()
            finally:
                await service.stop()
            return
        # PostgreSQL: active while holding the lock, standby otherwise (hotline/standby.py).
        standby = StandbyHealth(settings.web.host, settings.web.port, lock)
        await run_active_or_standby(
            lock,
            lambda: HotlineService(settings, more_health=lambda: {"active_lock": lock.status()}),
            stop,
            standby,
            on_started=lambda service: _log_serving(settings, service),
        )
    except IvrStartError as error:  # already one line naming the setting
        raise click.ClickException(str(error)) from None
    except SQLAlchemyError as error:
        raise click.ClickException(database_problem(settings.database.url, error)) from None


async def _start(service: HotlineService, settings: Settings) -> None:
    try:
        await service.start()
    except Exception:
        await _stop_quietly(service)
        raise
    _log_serving(settings, service)


def _log_serving(settings: Settings, service: HotlineService) -> None:
    pbxs = ", ".join(f"{p.name} {p.host}:{p.port}" for p in settings.pbx_servers())
    log.info(
        "hotline serving: AMI %s, wallboard http://%s:%s/",
        pbxs,
        settings.web.host,
        service.web_port,
    )


async def _stop_quietly(service: HotlineService) -> None:
    """Undo a half-done start; its own failures are not the error to report."""
    with contextlib.suppress(Exception):
        await service.stop()


@click.command()
@log_level_option
def serve() -> None:
    """Run the service against the Asterisk named in the settings."""
    asyncio.run(run_service())
