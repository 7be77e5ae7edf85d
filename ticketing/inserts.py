"""INSERT statements that run the same on SQLite and PostgreSQL, and the batches they take."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite

T = TypeVar("T")

# Rows per INSERT statement: well below SQLite's and PostgreSQL's bound-parameter limits.
ROWS_PER_INSERT = 200


def dialect_insert(dialect: str, table: Table) -> Any:
    """An INSERT into ``table`` that can carry ON CONFLICT for the named dialect."""
    # Each dialect's own INSERT carries ON CONFLICT; both spell it the same way.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement: Insert = insert(table)
    return statement


def chunks(items: list[T], size: int = ROWS_PER_INSERT) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
