"""Whose screen shows a caller's number in full: one rule for every desk answer.

The agent who takes a call must verify the caller and may have to call back, and a
supervisor may sit at a desk; every other role (a handling unit, an auditor…) sees the
number masked (domain: "mask the number for handling units unless needed"). The screen pop
(/ws/desk, /api/desk/pop), the agent's state (/api/agent/state) and the call-back list
(/api/callbacks) all go through `caller_number_for`, so one call never shows two ways.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from hotline.web.wallboard import mask_number

FULL_NUMBER_ROLES: Final = frozenset({"agent", "supervisor"})

# The fields of the desk's answers that hold a caller's number.
NUMBER_FIELDS: Final = ("caller_num", "number")


def caller_number_for(number: str | None, role: str) -> str | None:
    """``number`` as a screen of ``role`` may show it."""
    if not number or role in FULL_NUMBER_ROLES:
        return number
    return mask_number(number)


def callers_for(data: Mapping[str, Any], role: str) -> dict[str, Any]:
    """A copy of a desk answer with its caller numbers (its own, its ``call``'s, its
    ``items``') shown as ``role`` may see them."""
    shown = dict(data)
    for name in NUMBER_FIELDS:
        if isinstance(shown.get(name), str):
            shown[name] = caller_number_for(shown[name], role)
    call = shown.get("call")
    if isinstance(call, Mapping):
        shown["call"] = callers_for(call, role)
    items = shown.get("items")
    if isinstance(items, list):
        shown["items"] = [callers_for(i, role) if isinstance(i, Mapping) else i for i in items]
    return shown
