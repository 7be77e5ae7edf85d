"""Placeholder until the rollcases branch lands its builder (session 6): builds no rows.

Nothing serves rollups before that branch's readers land, so no report reads its emptiness.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection


async def build(connection: AsyncConnection, start: datetime, end: datetime) -> None:
    return None
