"""The case deadline policy changed at run time (期限规则): an authorised user picks a preset
and changes limits per category, the sign limit, the return window and the extension rules;
each change is a new row of ``case_policy_changes`` (who, when, why, what), never an update,
and the newest is in force for every service instance — read in each action's transaction,
so the active and standby services and a restart agree. Without any row the settings'
``[cases]`` policy holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.models import CasePolicyRow
from ticketing.workflow.deadlines import (
    LIMIT_KEYS,
    URGENT,
    DeadlinePolicy,
    ExtensionRule,
    Limit,
    policy,
)
from ticketing.workflow.table import CATEGORIES

policy_changes = cast(Table, CasePolicyRow.__table__)

CHANGE_KEYS: Final = ("limits", "sign", "return_window", "extensions")
MAX_EXTENSIONS: Final = 5
MAX_EXTENSION_DAYS: Final = 30


def build_policy(preset: str, changes: Mapping[str, Any]) -> DeadlinePolicy:
    """The preset with ``changes`` applied; ValueError naming the first bad part."""
    if not isinstance(changes, Mapping):
        raise ValueError("changes must be an object")
    unknown = sorted(set(changes) - set(CHANGE_KEYS))
    if unknown:
        raise ValueError(f"unknown change(s) {', '.join(unknown)}: use {', '.join(CHANGE_KEYS)}")
    limits = changes.get("limits") or {}
    if not isinstance(limits, Mapping) or not all(isinstance(v, str) for v in limits.values()):
        raise ValueError('limits must map a case kind to a limit such as "3wd"')
    chosen = policy(preset, dict(limits))
    for name in ("sign", "return_window"):
        if changes.get(name) is not None:
            if not isinstance(changes[name], str):
                raise ValueError(f'{name} must be a limit such as "24wh"')
            limit = Limit.parse(changes[name])
            chosen = (
                replace(chosen, sign=limit)
                if name == "sign"
                else replace(chosen, return_window=limit)
            )
    extensions = changes.get("extensions") or {}
    if not isinstance(extensions, Mapping):
        raise ValueError("extensions must map a category to [times, working days]")
    if extensions:
        rules = dict(chosen.extensions)
        for kind, rule in extensions.items():
            if kind not in (*CATEGORIES, URGENT):
                raise ValueError(f"extensions for unknown case kind {kind!r}")
            rules[kind] = _extension_rule(kind, rule)
        chosen = replace(chosen, extensions=MappingProxyType(rules))
    return chosen


def _extension_rule(kind: str, rule: Any) -> ExtensionRule:
    if (
        not isinstance(rule, list | tuple)
        or len(rule) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in rule)
    ):
        raise ValueError(f"extensions[{kind}] must be [times, working days]")
    times, days = rule
    if not 0 <= times <= MAX_EXTENSIONS or not 0 <= days <= MAX_EXTENSION_DAYS:
        raise ValueError(
            f"extensions[{kind}]: at most {MAX_EXTENSIONS} times of {MAX_EXTENSION_DAYS} days"
        )
    return ExtensionRule(times, days)


def policy_view(chosen: DeadlinePolicy) -> dict[str, Any]:
    """A policy as JSON: every limit as written (``"3wd"``), the extension rules."""
    return {
        "preset": chosen.name,
        "limits": {kind: str(chosen.limits[kind]) for kind in LIMIT_KEYS if kind in chosen.limits},
        "sign": str(chosen.sign),
        "return_window": str(chosen.return_window),
        "extensions": {kind: [rule.times, rule.days] for kind, rule in chosen.extensions.items()},
    }


async def latest_change(connection: AsyncConnection) -> Mapping[str, Any] | None:
    row = (
        await connection.execute(
            select(policy_changes).order_by(policy_changes.c.id.desc()).limit(1)
        )
    ).first()
    return None if row is None else dict(row._mapping)


async def append_change(
    connection: AsyncConnection,
    actor: str,
    preset: str,
    changes: Mapping[str, Any],
    reason: str,
    now: datetime,
) -> DeadlinePolicy:
    """Check and record a change; ValueError (nothing recorded) when it is not a policy."""
    chosen = build_policy(preset, changes)
    if not reason.strip() or len(reason) > 500:
        raise ValueError("a policy change needs a reason (at most 500 characters)")
    kept = {key: changes[key] for key in CHANGE_KEYS if changes.get(key)}
    await connection.execute(
        policy_changes.insert().values(
            at=now, actor=actor, preset=preset, changes=kept, reason=reason.strip()
        )
    )
    return chosen


async def change_history(connection: AsyncConnection, limit: int = 50) -> list[dict[str, Any]]:
    """The changes, newest first."""
    rows = await connection.execute(
        select(policy_changes).order_by(policy_changes.c.id.desc()).limit(limit)
    )
    return [
        {"id": row.id, "at": row.at.isoformat(), "actor": row.actor, "preset": row.preset,
         "changes": row.changes, "reason": row.reason}
        for row in rows
    ]  # fmt: skip
