"""Early-warning suggestions (预警) in the database: the ``warning`` room's suggestion store
(``warning.service.SuggestionStore``), wired in hotline/wiring/warning.py.

A suggestion is kept as the room's data (``Suggestion.to_data()``: this package does not
import ``warning``; the field names are the contract) with its id, status, area, times, who
decided it and the incident it became as columns. A decision is an UPDATE … WHERE status =
'open': of two instances or two clicks, the one whose UPDATE changed the row decided, and
the other is handed the stored suggestion (on PostgreSQL the second UPDATE waits for the
first's row lock and then finds the row no longer open; SQLite runs one writer at a time).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Row, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.inserts import dialect_insert
from ticketing.models import WarningSuggestionRow

warning_suggestions = cast(Table, WarningSuggestionRow.__table__)

STATUSES = ("open", "accepted", "dismissed")
_COLUMNS = (warning_suggestions.c.data,)


class WarningStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, data: Mapping[str, Any]) -> None:
        """Keep a suggestion just raised (nothing if its id is stored already: a decision
        that came first wrote it)."""
        row = suggestion_row(data)
        async with self._engine.begin() as connection:
            await _insert(connection, row)

    async def decide(self, data: Mapping[str, Any]) -> dict[str, Any] | None:
        """Write the decision ``data`` carries if the stored suggestion is still open (or was
        never stored: its first write failed) and return None; else write nothing and return
        the stored suggestion, decided first by another click or instance."""
        row = suggestion_row(data)
        if row["status"] == "open":
            raise ValueError(f"suggestion {row['id']!r}: a decision is accepted or dismissed")
        table = warning_suggestions
        async with self._engine.begin() as connection:
            changed = await connection.execute(
                update(table).where(table.c.id == row["id"], table.c.status == "open").values(row)
            )
            if changed.rowcount == 1:
                return None
            stored = await _one(connection, row["id"])
            if stored is None:
                if await _insert(connection, row):
                    return None
                stored = await _one(connection, row["id"])
            assert stored is not None  # inserted by another writer just now
            return stored

    async def save(self, data: Mapping[str, Any]) -> None:
        """Write the suggestion as it is now, whatever it was (the incident its accept made,
        or open again when announcing it failed)."""
        row = suggestion_row(data)
        table = warning_suggestions
        async with self._engine.begin() as connection:
            changed = await connection.execute(
                update(table).where(table.c.id == row["id"]).values(row)
            )
            if changed.rowcount == 0:
                await _insert(connection, row)

    async def grow(self, data: Mapping[str, Any]) -> None:
        """Write an open suggestion's newer calls; nothing once it is decided (a decision
        made by another instance is never overwritten by this one's late counting)."""
        row = suggestion_row(data)
        if row["status"] != "open":
            raise ValueError(f"suggestion {row['id']!r}: only an open suggestion grows")
        table = warning_suggestions
        async with self._engine.begin() as connection:
            await connection.execute(
                update(table).where(table.c.id == row["id"], table.c.status == "open").values(row)
            )

    async def load(self, decided: int) -> list[dict[str, Any]]:
        """Every open suggestion and the ``decided`` most recently raised decided ones."""
        table = warning_suggestions
        async with self._engine.connect() as connection:
            opened = await connection.execute(
                select(*_COLUMNS).where(table.c.status == "open").order_by(table.c.raised_at)
            )
            rows = list(opened)
            recent = await connection.execute(
                select(*_COLUMNS)
                .where(table.c.status != "open")
                .order_by(table.c.raised_at.desc(), table.c.id.desc())
                .limit(max(0, decided))
            )
            rows.extend(recent)
        return [_data(row) for row in rows]

    async def get(self, suggestion_id: str) -> dict[str, Any] | None:
        async with self._engine.connect() as connection:
            return await _one(connection, suggestion_id)


def suggestion_row(data: Mapping[str, Any]) -> dict[str, Any]:
    """The row for a suggestion's data; ValueError naming the fields that cannot be stored."""
    if not isinstance(data, Mapping):
        raise ValueError("a suggestion must be an object")
    problems: list[str] = []
    row: dict[str, Any] = {}
    for name, limit, required in (
        ("id", 64, True),
        ("area_key", 128, True),
        ("decided_by", 64, False),
        ("incident_id", 64, False),
    ):
        value = data.get(name)
        if value is None and not required:
            row[name] = None
        elif not isinstance(value, str) or not value or len(value) > limit:
            problems.append(f"{name}: a string of 1 to {limit} characters")
        else:
            row[name] = value
    status = data.get("status", "open")
    if status not in STATUSES:
        problems.append(f"status: one of {', '.join(STATUSES)}")
    row["status"] = status
    for name, required in (("raised_at", True), ("decided_at", False)):
        value = data.get(name)
        if value is None and not required:
            row[name] = None
        elif isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{name}: epoch seconds")
        else:
            row[name] = datetime.fromtimestamp(value, UTC)
    try:
        # PostgreSQL's JSONB holds no NUL in a string; a value JSON cannot say is no data.
        if "\\u0000" in json.dumps(dict(data), allow_nan=False):
            problems.append("data: NUL in a string")
    except (TypeError, ValueError) as error:
        problems.append(f"data: not JSON ({error})")
    if problems:
        raise ValueError(f"suggestion {data.get('id')!r}: " + "; ".join(problems))
    row["data"] = dict(data)
    return row


async def _insert(connection: AsyncConnection, row: Mapping[str, Any]) -> bool:
    """INSERT the row unless its id is stored; True if it was inserted."""
    insert = dialect_insert(connection.dialect.name, warning_suggestions)
    result = await connection.execute(
        insert.values(dict(row)).on_conflict_do_nothing(index_elements=["id"])
    )
    return bool(result.rowcount)


async def _one(connection: AsyncConnection, suggestion_id: str) -> dict[str, Any] | None:
    found = await connection.execute(
        select(*_COLUMNS).where(warning_suggestions.c.id == suggestion_id)
    )
    row = found.first()
    return _data(row) if row is not None else None


def _data(row: Row[Any]) -> dict[str, Any]:
    # Data and columns are written by one statement each time: they always agree.
    return dict(row.data)
