"""Password and token hashing.

Passwords: argon2id through argon2-cffi, rehashed on login when the parameters change.
Tokens (kiosk screens, machine clients) are 256-bit random strings, so a fast SHA-256 is
enough and keeps bearer requests cheap; their stored form is marked so that a password can
never be checked against a token hash or the reverse.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

TOKEN_PREFIX = "token$sha256$"

_hasher = PasswordHasher()
# Verified when the user does not exist, so that an unknown name costs as much as a known one.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str, hasher: PasswordHasher = _hasher) -> str:
    if not password:
        raise ValueError("password: must not be empty")
    return hasher.hash(password)


def is_token_hash(stored: str) -> bool:
    return stored.startswith(TOKEN_PREFIX)


def verify_password(
    stored: str | None, password: str, hasher: PasswordHasher = _hasher
) -> tuple[bool, str | None]:
    """``(ok, new_hash)``; ``new_hash`` is set when the stored hash should be replaced."""
    if stored is None or is_token_hash(stored) or not password:
        _waste(password, hasher)
        return False, None
    try:
        hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if hasher.check_needs_rehash(stored):
        return True, hasher.hash(password)
    return True, None


def _waste(password: str, hasher: PasswordHasher) -> None:
    try:
        hasher.verify(_DUMMY, password or "-")
    except VerificationError:
        pass


T = TypeVar("T")


class HashPool:
    """argon2 off the event loop, at most ``threads`` at once.

    A hash takes tens of milliseconds of CPU; on the loop that serves AMI and the IVR, ten
    logins a second would saturate it. The semaphore keeps the waiting logins on the loop
    (cheap, cancellable) rather than in the executor's unbounded queue.
    """

    def __init__(self, threads: int = 2) -> None:
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="password-hash")
        self._slots = asyncio.Semaphore(threads)

    async def run(self, work: Callable[..., T], *args: object) -> T:
        async with self._slots:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def new_token_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_token(secret: str) -> str:
    return TOKEN_PREFIX + hashlib.sha256(secret.encode()).hexdigest()


def verify_token(stored: str | None, secret: str) -> bool:
    if stored is None or not is_token_hash(stored) or not secret:
        return False
    return hmac.compare_digest(stored, hash_token(secret))
