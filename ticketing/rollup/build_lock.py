"""One rollup builder at a time on a PostgreSQL database: the service's refresher and
``hotline rollup build`` rebuild the same hours by deleting and inserting their rows, and two
doing so at once would collide on the rows' keys (one fails). Each holds a session-level
advisory lock for the whole pass or build: the command waits for a running pass to end, the
refresher skips its pass while a build runs. SQLite lets one writer in at a time anyway.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# Apart from the migration (…345), survey (…346) and active service (…350) lock keys.
ROLLUP_LOCK_KEY = 1_234_512_351


@contextlib.asynccontextmanager
async def building(engine: AsyncEngine, *, wait: bool) -> AsyncIterator[bool]:
    """Hold the build lock in the block: True when held (always on SQLite); with ``wait``
    false, False at once if another process holds it."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    # A connection of its own, apart from those the build uses; its session holds the lock
    # (a crashed holder's session ends, and the lock with it).
    async with engine.connect() as connection:
        if wait:
            await connection.execute(text("SELECT pg_advisory_lock(:key)"),
                                     {"key": ROLLUP_LOCK_KEY})  # fmt: skip
            held = True
        else:
            held = bool(await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                                                {"key": ROLLUP_LOCK_KEY}))  # fmt: skip
        # Not inside the implicit transaction: the lock outlives commits; end it now so the
        # connection does not sit idle in a transaction for the whole build.
        await connection.commit()
        try:
            yield held
        finally:
            if held:
                await _unlock(connection)


async def _unlock(connection: AsyncConnection) -> None:
    try:
        await connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                 {"key": ROLLUP_LOCK_KEY})  # fmt: skip
        await connection.commit()
    except BaseException:
        # Never back to the pool still holding the lock: closing the session frees it.
        await connection.invalidate()
        raise
