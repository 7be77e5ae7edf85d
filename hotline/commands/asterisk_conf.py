"""``hotline asterisk-conf``: Asterisk's configuration rendered from the settings file."""

from __future__ import annotations

from pathlib import Path

import click

from asterisk_conf.render import (
    INCLUDES_FILE,
    MODES,
    RenderError,
    include_instructions,
    render_warnings,
    write_config,
)
from hotline.asterisk_config import asterisk_config, render_all
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
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="files",
    show_default=True,
    help="files: whole .conf files that replace Asterisk's own; fragments: files to #include "
    "into an existing configuration (sections of the hotline's own, and option lines for "
    "your existing [general]/[globals]/[csv]/[options]), listed in INCLUDES.txt.",
)
def render(out_dir: Path, ami_permit: str | None, pbx: str | None, mode: str) -> None:
    """Render Asterisk's configuration: extensions, queues, queuerules, pjsip, manager,
    musiconhold, cdr, logger, rtp and asterisk (systemname), then say how to install it."""
    settings = load_settings()
    check_menu(settings)
    config = asterisk_config(settings)
    try:
        files = render_all(settings, ami_permit=ami_permit, pbx=pbx, mode=mode)
        instructions = include_instructions(config, mode, out_dir, pbx)
    except RenderError as error:
        raise click.ClickException(str(error)) from None
    if mode == "fragments":
        files = {**files, INCLUDES_FILE: instructions}
    for path in write_config(files, out_dir):
        click.echo(str(path))
    click.echo("")
    click.echo(instructions, nl=False)
    # Rendered, but a hotline nobody can call or answer: said on stderr, never silent.
    for warning in render_warnings(config):
        click.echo(f"warning: {warning}", err=True)
