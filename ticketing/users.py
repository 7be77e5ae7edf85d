"""Web users and the append-only access log (who logged in, played which recording, …).

Password hashing is not done here: callers (hotline.web.auth) hash and verify, and hand this
package the hash only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table

from ticketing.models import USER_ROLES, AccessLogRow, UserRow

ROLES: tuple[str, ...] = USER_ROLES

users = cast(Table, UserRow.__table__)
access_log_table = cast(Table, AccessLogRow.__table__)

_USER_FIELDS = ("id", "username", "display_name", "role", "unit", "active")


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


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
