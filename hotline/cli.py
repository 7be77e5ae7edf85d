"""The ``hotline`` command. Each sub-command lives in its own module under hotline/commands."""

from __future__ import annotations

import importlib
import logging
import sys

import click

from hotline.settings import SettingsError

# name -> "module:attribute"; imported only when the sub-command runs, so `hotline --help`
# stays fast and one broken optional part cannot take the others down.
COMMANDS: dict[str, str] = {
    "serve": "hotline.commands.serve:serve",
    "ivr": "hotline.commands.ivr:ivr",
    "demo": "hotline.commands.demo:demo",
    "replay": "hotline.commands.replay:replay",
    "kpi": "hotline.commands.kpi:kpi",
    "staffing": "hotline.commands.staffing:staffing",
    "deadline": "hotline.commands.deadline:deadline",
    "db": "hotline.commands.db:db",
    "asterisk-conf": "hotline.commands.asterisk_conf:asterisk_conf",
    "prompts": "hotline.commands.prompts:prompts",
    "user": "hotline.commands.user:user",
    "unit": "hotline.commands.unit:unit",
    "report": "hotline.commands.report:report",
    "rollup": "hotline.commands.rollup:rollup",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command


@click.group(cls=LazyGroup)
@click.version_option(package_name="hotline")
def cli() -> None:
    """hotline: a 12345-style citizen service hotline on Asterisk."""


def main() -> None:
    # Warnings (a skipped AMI frame, a garbage capture line…) go to stderr; `serve` raises the
    # level with --log-level.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        cli(standalone_mode=True)
    except SettingsError as error:
        click.echo(f"hotline: {error}", err=True)
        sys.exit(2)
