"""Storing call records once each: saving is idempotent by the record's PBX and key
("uniqueid#leg"; uniqueids are unique per Asterisk only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.call_rows import calls
from ticketing.inserts import chunks, dialect_insert


class CallInserter:
    """Inserts call_records rows, skipping keys stored already."""

    def __init__(self, dialect: str) -> None:
        # Built once and run with lists of parameters (executemany), so SQLAlchemy compiles
        # the statement once instead of once per batch.
        self._statement = (
            dialect_insert(dialect, calls)
            .on_conflict_do_nothing(index_elements=["pbx", "key"])
            .returning(calls.c.pbx, calls.c.key)
        )

    async def insert_new(
        self, connection: AsyncConnection, rows: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Insert ``rows`` (unique keys); returns those that were not stored before."""
        new_rows: list[dict[str, Any]] = []
        for chunk in chunks(rows):
            result = await connection.execute(self._statement, chunk)
            inserted = {(pbx, key) for pbx, key in result.all()}
            new_rows.extend(row for row in chunk if (row["pbx"], row["key"]) in inserted)
        return new_rows
