"""``hotline ivr``: the FastAGI IVR alone (menus, incidents, hours from the same settings as
``hotline serve``), for IVR processes of their own; run the service with
``ivr.enabled = false``. Runs until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

import click

from hotline.commands.log_level import log_level_option
from hotline.ivr_build import IvrStartError
from hotline.ivr_process import IvrProcess
from hotline.settings import load_settings

log = logging.getLogger("hotline")


async def run_ivr() -> None:
    settings = load_settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    process = IvrProcess(settings)
    try:
        await process.start()
    except IvrStartError as error:
        await process.stop()
        click.echo(f"hotline: {error}", err=True)
        sys.exit(1)
    log.info("hotline ivr: FastAGI on %s:%s", settings.ivr.host, process.port)
    try:
        await stop.wait()
    finally:
        await process.stop()


@click.command()
@log_level_option
def ivr() -> None:
    """Run the FastAGI IVR alone (the service then runs with ivr.enabled = false)."""
    asyncio.run(run_ivr())
