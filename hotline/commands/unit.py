"""``hotline unit``: the handling units (承办单位) cases are dispatched to.

Staff are web users with role ``unit`` naming their unit: ``hotline user add NAME --role unit
--unit 住建局`` (``--with-token`` for a department's own system on the JSON API).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from hotline.commands.with_store import run_with_store
from hotline.settings import load_settings
from ticketing.store import TicketStore

T = TypeVar("T")


def _run(action: Callable[[TicketStore], Awaitable[T]]) -> T:
    settings = load_settings()

    try:
        return run_with_store(settings, action)
    except (ValueError, KeyError) as error:
        raise click.ClickException(str(error.args[0] if error.args else error)) from None


@click.group()
def unit() -> None:
    """Handling units (承办单位): add, list, close to new cases, reopen."""


@unit.command()
@click.argument("name")
@click.option("--parent", default=None, help="The unit it belongs to (a district, a bureau).")
def add(name: str, parent: str | None) -> None:
    """Add a handling unit."""
    _run(lambda store: store.add_unit(name, parent))
    click.echo(f"added unit {name}" + (f" under {parent}" if parent else ""))


@unit.command("list")
def list_units() -> None:
    """Every unit, with its parent."""
    for row in _run(lambda store: store.list_units()):
        state = "active" if row["active"] else "closed"
        parent = f"  parent={row['parent']}" if row["parent"] else ""
        click.echo(f"{row['name']:<24} {state:<7}{parent}")


@unit.command()
@click.argument("name")
def close(name: str) -> None:
    """Take no new cases (its open cases stay with it)."""
    _run(lambda store: store.set_unit_active(name, False))
    click.echo(f"{name} closed to new cases")


@unit.command()
@click.argument("name")
def reopen(name: str) -> None:
    """Take cases again."""
    _run(lambda store: store.set_unit_active(name, True))
    click.echo(f"{name} takes cases again")
