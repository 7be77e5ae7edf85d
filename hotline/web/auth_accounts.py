"""Accounts that log in with a token instead of a password: kiosk screens, machine clients.

A token is ``<username>.<secret>``; only the SHA-256 of the secret is stored, in the
account's password hash column, so such an account can never log in with a password.
"""

from __future__ import annotations

import re
import secrets

from hotline.web.auth_passwords import hash_token, new_token_secret, verify_token
from hotline.web.auth_store import UserStore
from hotline.web.auth_table import ROLES

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,39}$")


def check_username(username: str) -> str:
    if not USERNAME.match(username):
        raise ValueError(
            "username: 2-40 characters, lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return username


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role: must be one of {', '.join(ROLES)}")
    return role


def split_token(token: str) -> tuple[str, str] | None:
    """``(username, secret)``, or None when ``token`` is not shaped like one of ours."""
    username, dot, secret = token.strip().rpartition(".")
    if not dot or not USERNAME.match(username) or len(secret) < 32:
        return None
    return username, secret


async def create_token_account(
    store: UserStore, username: str, role: str, display_name: str, unit: str | None = None
) -> str:
    """Add an account whose credential is a new token; return the token (shown once).
    ``unit``: the handling unit of a ``unit`` account (a department's own system)."""
    check_username(username)
    check_role(role)
    secret = new_token_secret()
    await store.add_user(username, display_name, role, hash_token(secret), unit)
    return f"{username}.{secret}"


async def create_kiosk(store: UserStore, display_name: str = "wallboard screen") -> str:
    """A wallboard-only account for one screen; return its token."""
    username = f"kiosk-{secrets.token_hex(4)}"
    return await create_token_account(store, username, "wallboard", display_name)


async def user_for_token(store: UserStore, token: str) -> dict[str, object] | None:
    """The active account the token belongs to, or None."""
    parts = split_token(token)
    if parts is None:
        return None
    user = await store.get_user(parts[0])
    if user is None or not user.get("active"):
        return None
    if not verify_token(user.get("password_hash"), parts[1]):
        return None
    return user


def kiosk_url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}/kiosk?token={token}"
