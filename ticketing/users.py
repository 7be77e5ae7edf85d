"""Web users and the append-only access log (who logged in, played which recording, …).

Password hashing is not done here: callers (hotline.web.auth) hash and verify, and hand this
package the hash only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.inserts import dialect_insert
from ticketing.models import USER_ROLES, AccessLogRow, UserRow

ROLES: tuple[str, ...] = USER_ROLES

users = cast(Table, UserRow.__table__)
access_log_table = cast(Table, AccessLogRow.__table__)

_USER_FIELDS = ("id", "username", "display_name", "role", "unit", "active", "session_generation")


def check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")


def check_username(username: str) -> None:
    if not isinstance(username, str) or not username.strip() or len(username) > 64:
        raise ValueError(f"username must be 1 to 64 characters, got {username!r}")
    if username != username.strip():
        raise ValueError(f"username {username!r} has leading or trailing blanks")


def user_view(row: Mapping[Any, Any], *, with_hash: bool) -> dict[str, Any]:
    view = {name: row[name] for name in _USER_FIELDS}
    view["active"] = bool(view["active"])
    view["created_at"] = _iso(row["created_at"])
    view["updated_at"] = _iso(row["updated_at"])
    if with_hash:
        view["password_hash"] = row["password_hash"]
    return view


def access_view(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "at": _iso(row["at"]),
        "actor": row["actor"],
        "role": row["role"],
        "action": row["action"],
        "target": row["target"],
        "detail": dict(row["detail"] or {}),
        "remote": row["remote"],
    }


async def insert_user(
    connection: AsyncConnection,
    username: str,
    display_name: str,
    role: str,
    password_hash: str,
    unit: str | None,
) -> int | None:
    """Insert a checked user; its id, or None when the username is taken."""
    now = datetime.now(UTC)
    result = await connection.execute(
        dialect_insert(connection.dialect.name, users)
        .values(
            username=username,
            display_name=display_name,
            role=role,
            password_hash=password_hash,
            active=True,
            unit=unit,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["username"])
        .returning(users.c.id)
    )
    user_id = result.scalar_one_or_none()
    return None if user_id is None else int(user_id)


async def find_user(connection: AsyncConnection, username: str) -> dict[str, Any] | None:
    """The user with its password hash; None if there is none."""
    result = await connection.execute(select(users).where(users.c.username == username))
    row = result.one_or_none()
    return None if row is None else user_view(row._mapping, with_hash=True)


async def update_user(connection: AsyncConnection, username: str, **values: Any) -> None:
    """Change a user's columns; KeyError for an unknown user."""
    result = await connection.execute(
        update(users)
        .where(users.c.username == username)
        .values(**values, updated_at=datetime.now(UTC))
    )
    if not result.rowcount:
        raise KeyError(username)


async def end_sessions(connection: AsyncConnection, username: str) -> None:
    """Bump the user's session generation: every session issued before ends."""
    await update_user(connection, username, session_generation=users.c.session_generation + 1)


async def all_users(connection: AsyncConnection) -> list[dict[str, Any]]:
    """Every user by username, without password hashes."""
    result = await connection.execute(select(users).order_by(users.c.username))
    return [user_view(row._mapping, with_hash=False) for row in result]


async def append_access(
    connection: AsyncConnection,
    actor: str,
    role: str,
    action: str,
    target: str | None,
    detail: Mapping[str, Any] | None,
    remote: str | None,
) -> None:
    """Append one access log entry, cutting values to their column widths."""
    await connection.execute(
        access_log_table.insert().values(
            at=datetime.now(UTC),
            actor=actor[:128],
            role=role[:32],
            action=action[:64],
            target=target,
            detail=dict(detail or {}),
            remote=None if remote is None else remote[:64],
        )
    )


async def read_access_log(
    connection: AsyncConnection, since: datetime | None, actor: str | None, limit: int
) -> list[dict[str, Any]]:
    """Access log entries, newest first, optionally from ``since`` on and by one actor."""
    query = select(access_log_table)
    if since is not None:
        query = query.where(access_log_table.c.at >= since)
    if actor is not None:
        query = query.where(access_log_table.c.actor == actor)
    query = query.order_by(access_log_table.c.at.desc(), access_log_table.c.id.desc())
    query = query.limit(max(0, limit))
    result = await connection.execute(query)
    return [access_view(row._mapping) for row in result]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
