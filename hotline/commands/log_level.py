"""The ``--log-level`` option of the long-running commands (``serve``, ``ivr``), in one place."""

from __future__ import annotations

import logging

import click


def _apply(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    # Applied as soon as click parses it, so the command body starts at the right level.
    logging.getLogger().setLevel(value)
    return value


log_level_option = click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
    callback=_apply,
    expose_value=False,
)
