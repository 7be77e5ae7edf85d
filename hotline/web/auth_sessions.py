"""Signed session cookies and the in-memory login throttle.

Sessions are itsdangerous-signed cookies (Pallets, the signer behind Flask's sessions) that
carry the user's session generation at issue; the account is re-read from the store on every
request, and a session whose generation is no longer the user's is dead. Logout, a password
change and disabling the user bump the generation (ticketing.users.end_sessions), so every
session of that user ends at once, a copied cookie included; a role change applies at once.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "hotline_session"
LOGIN_CSRF_COOKIE = "hotline_login_csrf"


@dataclass(frozen=True, slots=True)
class SessionData:
    username: str
    csrf: str
    kiosk: bool
    generation: int = 0


class SessionCodec:
    def __init__(self, secret: str, max_age_s: int, kiosk_max_age_s: int) -> None:
        if len(secret) < 16:
            raise ValueError("web.session_secret: must be at least 16 characters")
        self._session = URLSafeTimedSerializer(secret, salt="hotline.session")
        self._csrf = URLSafeTimedSerializer(secret, salt="hotline.login-csrf")
        self.max_age_s = max_age_s
        self.kiosk_max_age_s = kiosk_max_age_s

    def issue(
        self, username: str, *, kiosk: bool = False, generation: int = 0
    ) -> tuple[str, SessionData]:
        data = SessionData(username, secrets.token_urlsafe(24), kiosk, generation)
        cookie = self._session.dumps({"u": username, "c": data.csrf, "k": kiosk, "g": generation})
        return cookie, data

    def read(self, cookie: str | None) -> SessionData | None:
        if not cookie:
            return None
        try:
            raw = self._session.loads(cookie, max_age=max(self.max_age_s, self.kiosk_max_age_s))
            fresh = self._session.loads(cookie, max_age=self.max_age_s) if not raw.get("k") else raw
        except (BadSignature, AttributeError):
            return None
        if not isinstance(fresh, dict) or not isinstance(fresh.get("u"), str):
            return None
        generation = fresh.get("g")
        if not isinstance(generation, int):
            return None  # issued before sessions could be ended: log in again
        return SessionData(fresh["u"], str(fresh.get("c", "")), bool(fresh.get("k")), generation)

    def login_csrf(self) -> str:
        return self._csrf.dumps(secrets.token_urlsafe(16))

    def login_csrf_ok(self, cookie: str | None, field: str | None) -> bool:
        if not cookie or not field or not secrets.compare_digest(cookie.encode(), field.encode()):
            return False
        try:
            self._csrf.loads(cookie, max_age=self.max_age_s)
        except BadSignature:
            return False
        return True


class LoginThrottle:
    """Failed logins counted by username (from any address) and by address (for any
    username): ``max_failures`` for one username, or ``max_per_address`` from one address,
    within ``lockout_s`` refuse further tries until the oldest of them is that old. Both
    together: spraying many names from one address and one name from many addresses are
    each stopped."""

    def __init__(
        self,
        max_failures: int,
        lockout_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_per_address: int | None = None,
    ) -> None:
        self.max_failures = max_failures
        self.max_per_address = max_per_address or max_failures * 4
        self.lockout_s = lockout_s
        self._clock = clock
        self._failures: dict[tuple[str, str], list[float]] = {}

    def _recent(self, key: tuple[str, str]) -> list[float]:
        horizon = self._clock() - self.lockout_s
        kept = [at for at in self._failures.get(key, []) if at > horizon]
        if kept:
            self._failures[key] = kept
        else:
            self._failures.pop(key, None)
        return kept

    def _wait(self, key: tuple[str, str], limit: int) -> float:
        recent = self._recent(key)
        if len(recent) < limit:
            return 0.0
        return max(recent[-limit] + self.lockout_s - self._clock(), 0.0)

    def retry_after(self, username: str | None, remote: str) -> float:
        """Seconds until a login may be tried again; 0 when it may be tried now.
        ``username`` None: the address alone counts (kiosk links)."""
        wait = self._wait(("address", remote), self.max_per_address)
        if username is not None:
            wait = max(wait, self._wait(("user", username.lower()), self.max_failures))
        return wait

    def failed(self, username: str | None, remote: str) -> None:
        if len(self._failures) > 10_000:  # bounded memory under a spray of names
            for key in list(self._failures):
                self._recent(key)
        now = self._clock()
        self._failures.setdefault(("address", remote), []).append(now)
        if username is not None:
            self._failures.setdefault(("user", username.lower()), []).append(now)

    def succeeded(self, username: str, remote: str) -> None:
        self._failures.pop(("user", username.lower()), None)
