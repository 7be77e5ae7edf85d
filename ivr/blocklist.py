"""Blocked callers (骚扰号码): the IVR's copy of the nuisance-number blocklist.

The blocklist lives in the database (ticketing.blocklist); whoever runs the IVR keeps this
copy equal to its active entries by polling (hotline/blocklist_poller.py), as it does the
incidents. A blocked caller hears ``NOTICE``, the call is recorded as evidence (MixMonitor
started by the IVR, the whole channel) and marked (HOTLINE_CHOICE ``blocked``,
HOTLINE_BLOCKED the entry's id), then the IVR hangs up.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

NOTICE = "hotline/blocked-notice"
_COUNTRY = re.compile(r"^(?:0086|86)(1\d{10})$")


def normalise_number(raw: str) -> str:
    """Digits only; a mobile number's +86 / 0086 dropped (as ticketing.blocklist does)."""
    digits = "".join(ch for ch in raw if ch.isascii() and ch.isdigit())
    found = _COUNTRY.match(digits)
    return found.group(1) if found else digits


@dataclass(frozen=True, slots=True)
class BlockedNumber:
    id: int
    number: str  # normalised
    expires_at: dt.datetime


class BlockedCallers:
    """The active entries by number; ``match`` also checks expiry, so an entry that expired
    since the last poll no longer blocks."""

    def __init__(self) -> None:
        self._by_number: dict[str, BlockedNumber] = {}

    def replace(self, entries: Iterable[BlockedNumber]) -> None:
        self._by_number = {entry.number: entry for entry in entries}

    def __len__(self) -> int:
        return len(self._by_number)

    def match(self, caller: str, now: dt.datetime) -> BlockedNumber | None:
        if not caller:
            return None  # a withheld number cannot be blocked by number
        entry = self._by_number.get(normalise_number(caller))
        if entry is None or entry.expires_at <= now:
            return None
        return entry
