"""``hotline asterisk-conf``: Asterisk's configuration rendered from the settings file."""

from __future__ import annotations

from pathlib import Path

import click

from asterisk_conf.render import RenderError, write_config
from hotline.asterisk_config import render_all
from hotline.ivr_build import menu_queue_problems
from hotline.settings import Settings, load_settings
from ivr.menu import MenuError, load_menu
from ivr.menu_source import DEFAULT_MENU


@click.group("asterisk-conf")
def asterisk_conf() -> None:
    """Asterisk configuration (dialplan, queues, PJSIP, AMI) from the hotline settings."""


def check_menu(settings: Settings) -> None:
    """Refuse a menu that is broken or routes callers to queues queues.conf lacks."""
    path = settings.ivr.menu_file or DEFAULT_MENU
    try:
        menu = load_menu(path)
    except MenuError as error:
        raise click.ClickException("; ".join(str(fault) for fault in error.faults)) from None
    problems = menu_queue_problems(menu, settings)
    if problems:
        raise click.ClickException(f"menu {path}: {'; '.join(problems)}")


@asterisk_conf.command("render")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the .conf files into (created if missing).",
)
@click.option(
    "--allow-remote-ami",
    "ami_permit",
    metavar="NETWORK",
    help="Let AMI listen on a non-loopback ami.host; only NETWORK (e.g. 10.0.0.5/32, the "
    "hotline service's address) may log in.",
)
@click.option(
    "--pbx",
    metavar="NAME",
    help="The Asterisk of ami.servers to render for (required with several): its manager "
    "login and an asterisk.conf with systemname NAME.",
)
def render(out_dir: Path, ami_permit: str | None, pbx: str | None) -> None:
    """Render extensions, queues, queuerules, pjsip, manager and musiconhold .conf files
    (and asterisk.conf with --pbx)."""
    settings = load_settings()
    check_menu(settings)
    try:
        files = render_all(settings, ami_permit=ami_permit, pbx=pbx)
    except RenderError as error:
        raise click.ClickException(str(error)) from None
    for path in write_config(files, out_dir):
        click.echo(str(path))
