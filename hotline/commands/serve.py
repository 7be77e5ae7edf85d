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
from hotline.ivr_build import IvrStartError
from hotline.service import HotlineService
from hotline.settings import load_settings

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
    service = HotlineService(settings)
    try:
        await service.start()
    except IvrStartError as error:  # already one line naming the setting
        await _stop_quietly(service)
        raise click.ClickException(str(error)) from None
    except SQLAlchemyError as error:
        await _stop_quietly(service)
        raise click.ClickException(database_problem(settings.database.url, error)) from None
    log.info(
        "hotline serving: AMI %s:%d, wallboard http://%s:%s/",
        settings.ami.host,
        settings.ami.port,
        settings.web.host,
        service.web_port,
    )
    try:
        await stop.wait()
    finally:
        await service.stop()


async def _stop_quietly(service: HotlineService) -> None:
    """Undo a half-done start; its own failures are not the error to report."""
    with contextlib.suppress(Exception):
        await service.stop()


@click.command()
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
)
def serve(log_level: str) -> None:
    """Run the service against the Asterisk named in the settings."""
    logging.getLogger().setLevel(log_level)
    asyncio.run(run_service())
