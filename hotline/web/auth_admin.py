"""User administration, shared by ``hotline user`` and the console's user pages: create an
account, disable or enable it, reset its password, change its role. Each change is written
to the access log here, so that no way of making it can skip the log.

Passwords arrive already hashed (the caller hashes: the command line in its own process, the
web app in its hashing threads) after ``check_password``.
"""

from __future__ import annotations

from typing import Final

from hotline.web.auth_accounts import check_role, check_username
from hotline.web.auth_store import UserStore

MIN_PASSWORD: Final = 10
MAX_PASSWORD: Final = 1024  # hashing a megabyte would be a denial of service


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValueError(f"password: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise ValueError(f"password: at most {MAX_PASSWORD} characters")
    return password


class UserAdmin:
    """The account changes of one actor (``actor``/``role``: who does it, for the log;
    ``remote``: from which address, when known)."""

    def __init__(self, store: UserStore, actor: str, role: str, remote: str | None = None) -> None:
        self.store = store
        self.actor = actor
        self.role = role
        self.remote = remote

    async def _log(self, action: str, username: str, **detail: str) -> None:
        await self.store.log_access(
            self.actor, self.role, action, f"user:{username}", detail or None, self.remote
        )

    async def create(
        self,
        username: str,
        role: str,
        display_name: str,
        password_hash: str,
        unit: str | None = None,
    ) -> int:
        """A password account; ValueError for a bad or taken username or an unknown role."""
        check_username(username)
        check_role(role)
        user_id = await self.store.add_user(username, display_name, role, password_hash, unit)
        await self._log("user.create", username, role=role)
        return user_id

    async def set_active(self, username: str, active: bool) -> None:
        """Disable (sessions end at once) or enable; KeyError for an unknown user."""
        await self.store.set_active(username, active)
        await self._log("user.enable" if active else "user.disable", username)

    async def reset_password(self, username: str, password_hash: str) -> None:
        """A new password; the user's sessions end. KeyError for an unknown user."""
        await self.store.set_password_hash(username, password_hash)
        await self._log("user.password_reset", username)

    async def set_role(self, username: str, role: str) -> None:
        """Another role; the user's sessions end (what they may open changed)."""
        check_role(role)
        await self.store.set_role(username, role)
        await self._log("user.role", username, role=role)
