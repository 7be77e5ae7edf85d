"""What one call says to early warning: who (the call), when, from which area, and under
which menu branch and request category. Pure: a call.* payload (or a stored call record,
the same shape as call.ended) in, an ``Observation`` out.

The category is the IVR's HOTLINE_CATEGORY (the menu choice's ticket category); the branch
is HOTLINE_CHOICE, the keys that routed the call. The fixed choices that are not a branch
of the menu (timeout, invalid, error, fallback, blocked…) say nothing about a topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from asterisk_conf.channel_vars import CATEGORY, CHOICE_VALUES
from warning.areas import Area, AreaMap

# (kind, value): ("category", "help") or ("branch", "21")
Signal = tuple[str, str]
# Emergency advice (110/119/120) stays a branch: many fire calls from one street are news.
NOT_BRANCHES = frozenset(v for v in CHOICE_VALUES if not v.startswith("emergency-"))


@dataclass(frozen=True, slots=True)
class Observation:
    call_id: str  # "<pbx>|<linkedid>": a call once, whatever its legs and events
    at: float  # epoch seconds: when the call started
    area: Area
    signals: tuple[Signal, ...]


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def observe(payload: Mapping[str, Any], areas: AreaMap) -> Observation | None:
    """The call's observation; None when it has no area or nothing to group it by."""
    linkedid = payload.get("linkedid")
    at = _number(payload.get("started_at")) or _number(payload.get("at"))
    if not isinstance(linkedid, str) or not linkedid or at is None:
        return None
    area = areas.area_of(payload.get("caller_num"))
    if area is None:
        return None
    found: list[Signal] = []
    variables = payload.get("vars")
    category = variables.get(CATEGORY.name) if isinstance(variables, Mapping) else None
    if isinstance(category, str) and category:
        found.append(("category", category))
    choice = payload.get("ivr_choice")
    if isinstance(choice, str) and choice and choice not in NOT_BRANCHES:
        found.append(("branch", choice))
    if not found:
        return None
    return Observation(f"{payload.get('pbx') or ''}|{linkedid}", at, area, tuple(found))
