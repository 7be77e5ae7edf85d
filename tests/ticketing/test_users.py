"""Web users, their roles, and the append-only access log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ticketing.store import TicketStore
from ticketing.users import ROLES, access_log_table


def test_the_roles_are_the_published_ones() -> None:
    assert ROLES == (
        "agent", "supervisor", "reviewer", "unit", "auditor", "admin", "wallboard", "qa"
    )  # fmt: skip


async def test_add_get_update_and_list_users(store: TicketStore) -> None:
    first = await store.add_user("wang", "王芳", "agent", "hash-1")
    second = await store.add_user("li", "李强", "unit", "hash-2", unit="市水务局")
    assert first != second

    wang = await store.get_user("wang")
    assert wang is not None
    assert (wang["id"], wang["display_name"], wang["role"]) == (first, "王芳", "agent")
    assert (wang["password_hash"], wang["active"], wang["unit"]) == ("hash-1", True, None)
    assert await store.get_user("nobody") is None

    await store.set_password_hash("wang", "hash-1b")
    await store.set_active("wang", False)
    wang = await store.get_user("wang")
    assert wang is not None and (wang["password_hash"], wang["active"]) == ("hash-1b", False)
    await store.set_active("wang", True)
    assert (await store.get_user("wang") or {})["active"] is True

    listed = await store.list_users()
    assert [u["username"] for u in listed] == ["li", "wang"]
    assert all("password_hash" not in u for u in listed)
    assert listed[0]["unit"] == "市水务局"


async def test_duplicates_bad_roles_and_unknown_users_are_refused(store: TicketStore) -> None:
    await store.add_user("zhao", "赵", "supervisor", "h")
    with pytest.raises(ValueError, match="exists"):
        await store.add_user("zhao", "另一个赵", "agent", "h2")
    with pytest.raises(ValueError, match="role"):
        await store.add_user("qian", "钱", "root", "h")
    with pytest.raises(ValueError):
        await store.add_user(" ", "空", "agent", "h")
    with pytest.raises(KeyError):
        await store.set_password_hash("nobody", "h")
    with pytest.raises(KeyError):
        await store.set_active("nobody", False)
    assert [u["username"] for u in await store.list_users()] == ["zhao"]
    assert (await store.get_user("zhao") or {})["display_name"] == "赵"


async def test_access_log_is_appended_and_filtered(store: TicketStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    await store.log_access("wang", "agent", "login", None, remote="127.0.0.1")
    await store.log_access(
        "wang", "agent", "playback", "rec/1795445510.0.wav", {"ticket": "12345-20261123-000001"}
    )
    await store.log_access("li", "reviewer", "playback", "rec/2.wav")

    entries = await store.access_log()
    assert [e["action"] for e in entries] == ["playback", "playback", "login"]  # newest first
    assert entries[1]["detail"] == {"ticket": "12345-20261123-000001"}
    assert entries[2]["remote"] == "127.0.0.1" and entries[2]["target"] is None
    assert [e["target"] for e in await store.access_log(actor="wang")] == [
        "rec/1795445510.0.wav",
        None,
    ]
    assert len(await store.access_log(limit=1)) == 1
    assert len(await store.access_log(since=before)) == 3
    assert await store.access_log(since=datetime.now(UTC) + timedelta(minutes=1)) == []
    async with store.engine.connect() as connection:
        total = await connection.execute(select(func.count()).select_from(access_log_table))
        assert total.scalar_one() == 3
