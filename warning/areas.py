"""Where a caller is, for early warning: the caller number's prefix.

Why the number: it is the one piece of "where" every call carries from its first event —
callers who hang up in the IVR or abandon in the queue (most of an outage burst) included —
and it is what an incident matches callers by (``Incident.prefixes``), so a suggestion
accepted as an announcement reaches exactly the callers it was raised from. The IVR's
district step is optional in a menu and its answer does not travel with the call (no
channel variable), and a ticket's district is typed by an agent after the call was
answered: both come too late or not at all for a burst.

Areas are configured as named prefix lists (landline exchanges of a district such as
``0571861``, or mobile number segments); a number no area claims falls back to its first
``prefix_digits`` digits (a mobile HLR segment 号段 or area code + exchange), so a burst is
still seen before anyone has named the area.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_NON_DIGITS = re.compile(r"\D")


@dataclass(frozen=True, slots=True)
class Area:
    key: str  # stable identity: "area:<name>" or "prefix:<digits>"
    name: str  # what a supervisor reads
    prefixes: tuple[str, ...]  # what an incident matches callers by


def normalise(number: str | None) -> str:
    """Digits of a caller number without the +86 / 0086 country prefix ('' if none)."""
    if not number:
        return ""
    text = number.strip()
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    return _NON_DIGITS.sub("", text)


class AreaMap:
    def __init__(
        self, areas: Iterable[tuple[str, Sequence[str]]] = (), *, prefix_digits: int = 7
    ) -> None:
        if prefix_digits < 0:
            raise ValueError("prefix_digits must be ≥ 0")
        self.prefix_digits = prefix_digits
        self._by_prefix: dict[str, Area] = {}
        for name, prefixes in areas:
            if not prefixes or not all(p.isdigit() for p in prefixes):
                raise ValueError(f"area {name!r}: prefixes must be digits, at least one")
            area = Area(f"area:{name}", name, tuple(prefixes))
            for prefix in prefixes:
                if prefix in self._by_prefix:
                    raise ValueError(f"prefix {prefix} is in two areas")
                self._by_prefix[prefix] = area
        # Longest first: 0571861 wins over 0571 when both are configured.
        self._lengths = sorted({len(p) for p in self._by_prefix}, reverse=True)

    def area_of(self, number: str | None) -> Area | None:
        digits = normalise(number)
        if not digits:
            return None
        for length in self._lengths:
            area = self._by_prefix.get(digits[:length])
            if area is not None and len(digits) > length:
                return area
        if self.prefix_digits and len(digits) > self.prefix_digits:
            prefix = digits[: self.prefix_digits]
            return Area(f"prefix:{prefix}", f"{prefix}…", (prefix,))
        return None
