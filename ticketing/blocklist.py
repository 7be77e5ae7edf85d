"""The nuisance-number blocklist in the store: add (with reason and expiry), remove (stamped,
never deleted), list, and the active entries the IVR polls.

Numbers are kept normalised (``normalise_number``): digits only, a leading +86 / 0086 of a
mobile number dropped, so ``+86 138-0013-8000`` and ``13800138000`` are one entry. The IVR
normalises the caller ID the same way (ivr.blocklist; the two rooms do not import each other,
tests/ivr/test_blocklist.py holds them equal).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.models import BlockedNumberRow
from ticketing.times import require_aware

blocked_numbers = cast(Table, BlockedNumberRow.__table__)

MAX_DAYS = 366  # a block is reviewed at least yearly: nobody is blocked for good by oversight
_COUNTRY = re.compile(r"^(?:0086|86)(1\d{10})$")


class BlocklistError(ValueError):
    """A bad entry or operation; ``field`` names the input at fault (None: not found)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


def normalise_number(raw: str) -> str:
    """Digits only; a mobile number's +86 / 0086 country code dropped."""
    digits = "".join(ch for ch in raw if ch.isascii() and ch.isdigit())
    found = _COUNTRY.match(digits)
    return found.group(1) if found else digits


def _view(row: Any, now: datetime) -> dict[str, Any]:
    active = row.removed_at is None and row.expires_at > now
    return {
        "id": int(row.id),
        "number": row.number,
        "reason": row.reason,
        "expires_at": row.expires_at.isoformat(),
        "added_by": row.added_by,
        "added_at": row.added_at.isoformat(),
        "removed_by": row.removed_by,
        "removed_at": row.removed_at.isoformat() if row.removed_at else None,
        "remove_reason": row.remove_reason,
        "active": active,
    }


class NumberBlocklist:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(
        self, number: str, reason: str, expires_at: datetime, by: str, *, now: datetime
    ) -> dict[str, Any]:
        """Block ``number`` until ``expires_at``; an active entry for it is extended instead
        of doubled (its reason replaced, the change stamped as a new entry's audit)."""
        require_aware(expires_at, "expires_at")
        require_aware(now, "now")
        digits = normalise_number(number)
        if not 3 <= len(digits) <= 20:
            raise BlocklistError("number", "a phone number: 3 to 20 digits")
        if not reason.strip() or len(reason) > 500:
            raise BlocklistError("reason", "required, at most 500 characters")
        if expires_at <= now:
            raise BlocklistError("expires_at", "must be in the future")
        if expires_at - now > timedelta(days=MAX_DAYS):
            raise BlocklistError("expires_at", f"at most {MAX_DAYS} days from now")
        async with self._engine.begin() as connection:
            # One active entry per number: an earlier one ends when the new one starts.
            await connection.execute(
                update(blocked_numbers)
                .where(
                    blocked_numbers.c.number == digits,
                    blocked_numbers.c.removed_at.is_(None),
                    blocked_numbers.c.expires_at > now,
                )
                .values(removed_by=by, removed_at=now, remove_reason="replaced by a new entry")
            )
            result = await connection.execute(
                blocked_numbers.insert().values(
                    number=digits,
                    reason=reason.strip(),
                    expires_at=expires_at,
                    added_by=by,
                    added_at=now,
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            new_id = int(key[0])
            row = (
                await connection.execute(
                    select(blocked_numbers).where(blocked_numbers.c.id == new_id)
                )
            ).one()
        return _view(row, now)

    async def remove(
        self, entry_id: int, by: str, reason: str | None, *, now: datetime
    ) -> dict[str, Any]:
        """End an active entry now; BlocklistError(None, …) when there is no such active one."""
        async with self._engine.begin() as connection:
            done = await connection.execute(
                update(blocked_numbers)
                .where(
                    blocked_numbers.c.id == entry_id,
                    blocked_numbers.c.removed_at.is_(None),
                    blocked_numbers.c.expires_at > now,
                )
                .values(removed_by=by, removed_at=now, remove_reason=reason)
            )
            if done.rowcount != 1:
                raise BlocklistError(None, "no such active blocklist entry")
            row = (
                await connection.execute(
                    select(blocked_numbers).where(blocked_numbers.c.id == entry_id)
                )
            ).one()
        return _view(row, now)

    async def entries(
        self, *, now: datetime | None = None, history: bool = False, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Active entries (with ``history``: every entry, removed and expired too), newest
        first."""
        now = now or datetime.now(UTC)
        query = select(blocked_numbers)
        if not history:
            query = query.where(
                and_(blocked_numbers.c.removed_at.is_(None), blocked_numbers.c.expires_at > now)
            )
        query = query.order_by(blocked_numbers.c.added_at.desc(), blocked_numbers.c.id.desc())
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query.limit(limit))).all()
        return [_view(row, now) for row in rows]
