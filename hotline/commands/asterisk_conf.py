"""``hotline asterisk-conf``: Asterisk's configuration rendered from the settings file."""

from __future__ import annotations

from pathlib import Path

import click

from asterisk_conf.render import RenderError, render_all, write_config
from hotline.settings import load_settings


@click.group("asterisk-conf")
def asterisk_conf() -> None:
    """Asterisk configuration (dialplan, queues, PJSIP, AMI) from the hotline settings."""


@asterisk_conf.command("render")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the .conf files into (created if missing).",
)
def render(out_dir: Path) -> None:
    """Render extensions, queues, queuerules, pjsip, manager and musiconhold .conf files."""
    settings = load_settings()
    try:
        files = render_all(settings)
    except RenderError as error:
        raise click.ClickException(str(error)) from None
    for path in write_config(files, out_dir):
        click.echo(str(path))
