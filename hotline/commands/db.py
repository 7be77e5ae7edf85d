"""``hotline db``: the ticket database's schema (Alembic migrations run from code)."""

from __future__ import annotations

import asyncio

import click
from sqlalchemy.engine import make_url

from hotline.commands.database_errors import database_problem
from hotline.settings import load_settings
from ticketing import migrate


def _url(url: str | None) -> str:
    return url or load_settings().database.url


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


url_option = click.option(
    "--url", default=None, help="Database URL (default: database.url from the settings)."
)


@click.group()
def db() -> None:
    """Ticket database: migrate the schema, show its revision."""


@db.command()
@url_option
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def upgrade(url: str | None, revision: str) -> None:
    """Migrate the database schema to the newest (or the given) revision."""
    target = _url(url)
    try:
        reached = asyncio.run(migrate.upgrade_url(target, revision))
    except Exception as error:
        raise click.ClickException(database_problem(target, error, "migrate")) from None
    click.echo(f"{_shown(target)}: at revision {reached} (head {migrate.head()})")


@db.command()
@url_option
def current(url: str | None) -> None:
    """Show the database's schema revision and whether it is up to date."""
    target = _url(url)
    try:
        revision = asyncio.run(migrate.current_url(target))
    except Exception as error:
        raise click.ClickException(database_problem(target, error, "read")) from None
    head = migrate.head()
    state = "up to date" if revision == head else f"behind head {head}: run `hotline db upgrade`"
    click.echo(f"{revision or 'none'} ({state})")
