"""Handling units (承办单位): the departments and districts cases are dispatched to, each with
an optional parent. Staff are users with role ``unit`` naming their unit (ticketing.users).
A case can only be dispatched to a unit that is here and active."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.models import HandlingUnitRow

handling_units = cast(Table, HandlingUnitRow.__table__)


def check_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > 128 or name != name.strip():
        raise ValueError(f"a unit name is 1 to 128 characters without outer blanks: {name!r}")


async def insert_unit(
    connection: AsyncConnection, name: str, parent: str | None, now: datetime
) -> None:
    check_name(name)
    if await find_unit(connection, name) is not None:
        raise ValueError(f"unit {name!r} exists already")
    if parent is not None:
        if parent == name:
            raise ValueError("a unit cannot be its own parent")
        if await find_unit(connection, parent) is None:
            raise ValueError(f"no parent unit {parent!r}: add it first")
    await connection.execute(
        handling_units.insert().values(name=name, parent=parent, active=True, created_at=now)
    )


async def set_unit_active(connection: AsyncConnection, name: str, active: bool) -> None:
    result = await connection.execute(
        update(handling_units).where(handling_units.c.name == name).values(active=active)
    )
    if result.rowcount != 1:
        raise KeyError(f"no unit {name!r}")


async def find_unit(connection: AsyncConnection, name: str) -> dict[str, Any] | None:
    row = (
        await connection.execute(select(handling_units).where(handling_units.c.name == name))
    ).first()
    return None if row is None else _view(row._mapping)


async def all_units(connection: AsyncConnection) -> list[dict[str, Any]]:
    rows = await connection.execute(select(handling_units).order_by(handling_units.c.name))
    return [_view(row._mapping) for row in rows]


def _view(row: Any) -> dict[str, Any]:
    return {
        "name": row["name"],
        "parent": row["parent"],
        "active": bool(row["active"]),
        "created_at": row["created_at"].isoformat(),
    }


async def unit_and_descendants(connection: AsyncConnection, name: str) -> list[str]:
    """The unit and every unit under it (a district sees its streets' cases), by name."""
    rows = (await connection.execute(select(handling_units.c.name, handling_units.c.parent))).all()
    children: dict[str, list[str]] = {}
    for child, parent in rows:
        if parent is not None:
            children.setdefault(parent, []).append(child)
    found: list[str] = []
    todo = [name]
    while todo:  # a parent is added before its child: no cycles, but stay safe anyway
        unit = todo.pop()
        if unit in found:
            continue
        found.append(unit)
        todo.extend(sorted(children.get(unit, ()), reverse=True))
    return found
