"""One store session for a command: open the settings' database, run the action, close it,
and turn a database the command cannot use into click's one-line error."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import click

from hotline.commands.database_errors import DATABASE_ERRORS, database_problem
from hotline.settings import Settings

if TYPE_CHECKING:
    from ticketing.store import TicketStore

T = TypeVar("T")


def run_with_store(settings: Settings, action: Callable[[TicketStore], Awaitable[T]]) -> T:
    # Imported here so the commands that never open the store do not pay for its imports.
    from ticketing.store import TicketStore

    async def main() -> T:
        store = await TicketStore.open(settings.database.url, timezone=settings.site.timezone)
        try:
            return await action(store)
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except DATABASE_ERRORS as error:
        raise click.ClickException(database_problem(settings.database.url, error)) from None
