"""`hotline user`: accounts in the database named by the settings."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hotline.cli import cli
from hotline.web.auth_accounts import user_for_token
from hotline.web.auth_passwords import verify_password
from ticketing.store import TicketStore

PASSWORD = "a long enough secret"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'users.sqlite3'}"
    monkeypatch.chdir(tmp_path)  # no hotline.toml from the developer's tree
    monkeypatch.setenv("HOTLINE_DATABASE__URL", url)
    monkeypatch.setenv("HOTLINE_WEB__PUBLIC_URL", "https://hotline.example.gov.cn")
    return url


def _user(url: str, username: str) -> dict[str, Any] | None:
    async def read() -> dict[str, Any] | None:
        store = await TicketStore.open(url)
        try:
            return await store.get_user(username)
        finally:
            await store.close()

    return asyncio.run(read())


def _invoke(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(cli, ["user", *args], input=stdin)


def test_add_list_passwd_disable_enable(db: str) -> None:
    added = _invoke("add", "wang", "--role", "supervisor", "--name", "王芳", "--password-stdin",
                    stdin=PASSWORD + "\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    user = _user(db, "wang")
    assert user is not None and user["role"] == "supervisor" and user["display_name"] == "王芳"
    assert user["password_hash"].startswith("$argon2id$")
    assert verify_password(user["password_hash"], PASSWORD)[0]

    listed = _invoke("list")
    assert "wang" in listed.output and "supervisor" in listed.output
    assert "argon2" not in listed.output

    prompted = _invoke("passwd", "wang", stdin="another long secret\nanother long secret\n")
    assert prompted.exit_code == 0, prompted.output
    user = _user(db, "wang")
    assert user is not None and verify_password(user["password_hash"], "another long secret")[0]

    assert _invoke("disable", "wang").exit_code == 0
    assert user["session_generation"] == 1  # the password change ended wang's sessions
    assert _user(db, "wang") == {
        **user,
        "active": False,
        "updated_at": _updated(db),
        "session_generation": 2,  # and so did disabling
    }
    assert _invoke("enable", "wang").exit_code == 0
    enabled = _user(db, "wang")
    assert enabled is not None and enabled["active"] is True


def _updated(url: str) -> Any:
    user = _user(url, "wang")
    assert user is not None
    return user["updated_at"]


def test_bad_input_is_refused_with_a_clear_message(db: str) -> None:
    short = _invoke("add", "li", "--role", "agent", "--password-stdin", stdin="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    role = _invoke("add", "li", "--role", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert role.exit_code == 2 and "--role" in role.output
    name = _invoke("add", "Li Ming", "--role", "agent", "--password-stdin", stdin=PASSWORD)
    assert name.exit_code == 2 and "username" in name.output
    mismatch = _invoke("add", "li", "--role", "agent", stdin=f"{PASSWORD}\nsomething else\n" * 3)
    assert mismatch.exit_code != 0 and _user(db, "li") is None
    assert _invoke("add", "li", "--role", "agent", "--password-stdin",
                   stdin=PASSWORD).exit_code == 0  # fmt: skip
    twice = _invoke("add", "li", "--role", "agent", "--password-stdin", stdin=PASSWORD)
    assert twice.exit_code == 1 and "exists already" in twice.output
    missing = _invoke("disable", "nobody")
    assert missing.exit_code == 1 and "no such user 'nobody'" in missing.output


def test_kiosk_prints_a_wallboard_link(db: str) -> None:
    result = _invoke("kiosk", "--name", "大厅 hall")
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith("https://hotline.example.gov.cn/kiosk?token=kiosk-")
    token = url.partition("token=")[2]

    async def check() -> dict[str, object] | None:
        store = await TicketStore.open(db)
        try:
            return await user_for_token(store, token)
        finally:
            await store.close()

    user = asyncio.run(check())
    assert user is not None and user["role"] == "wallboard"
    assert user["display_name"] == "大厅 hall"


def test_a_short_session_secret_stops_start_up_without_being_echoed(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_WEB__SESSION_SECRET", "hunter2-short")
    result = CliRunner().invoke(cli, ["user", "list"], standalone_mode=False)
    error = result.exception
    assert error is not None and "web.session_secret" in str(error)
    assert "at least 16 characters" in str(error)
    assert "hunter2" not in str(error)


def test_account_changes_from_the_command_line_are_in_the_access_log(db: str) -> None:
    assert _invoke("add", "zhou", "--role", "agent", "--password-stdin",
                   stdin=PASSWORD + "\n").exit_code == 0  # fmt: skip
    assert _invoke("disable", "zhou").exit_code == 0
    changed = _invoke("role", "zhou", "--role", "supervisor")
    assert changed.exit_code == 0 and "supervisor" in changed.output
    assert (_user(db, "zhou") or {})["role"] == "supervisor"

    async def log() -> list[dict[str, Any]]:
        store = await TicketStore.open(db)
        try:
            return await store.access_log()
        finally:
            await store.close()

    entries = list(reversed(asyncio.run(log())))
    assert [(e["action"], e["target"]) for e in entries] == [
        ("user.create", "user:zhou"),
        ("user.disable", "user:zhou"),
        ("user.role", "user:zhou"),
    ]
    assert all(e["actor"].startswith("cli:") and e["remote"] == "command line" for e in entries)
