"""Ticket numbers: <prefix>-<local day>-<six-digit count>, counted per day in ticket_counters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.inserts import dialect_insert
from ticketing.models import TicketCounterRow

ticket_counters = cast(Table, TicketCounterRow.__table__)


class TicketNumbering:
    """Hands out ticket numbers from the per-day counters, inside the caller's transaction."""

    def __init__(self, dialect: str, zone: ZoneInfo, prefix: str) -> None:
        self._zone = zone
        self._prefix = prefix
        # Built once so SQLAlchemy compiles it once.
        count_up = dialect_insert(dialect, ticket_counters)
        self._count_up = count_up.on_conflict_do_update(
            index_elements=["day"],
            set_={"last": ticket_counters.c.last + count_up.excluded.last},
        ).returning(ticket_counters.c.last)

    async def allocate(
        self, connection: AsyncConnection, counted_at: Sequence[datetime]
    ) -> list[str]:
        """One new number for each instant, numbered by the instant's local day."""
        days = [instant.astimezone(self._zone).strftime("%Y%m%d") for instant in counted_at]
        wanted: dict[str, int] = {}
        for day in days:
            wanted[day] = wanted.get(day, 0) + 1
        next_number: dict[str, int] = {}
        for day, count in sorted(wanted.items()):
            # The counter row stays locked until commit, so concurrent writers (several service
            # instances on one PostgreSQL) get disjoint blocks of numbers.
            result = await connection.execute(self._count_up, {"day": day, "last": count})
            last = result.scalar_one()
            next_number[day] = last - count + 1
        numbers = []
        for day in days:
            numbers.append(f"{self._prefix}-{day}-{next_number[day]:06d}")
            next_number[day] += 1
        return numbers
