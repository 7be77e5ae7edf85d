"""Deadline policy as data: the presets of the domain brief (county default, city A with clock
hours, city B), editable per category; the sign limit, the return window and the extension
rules; and the timers a case's actions set or move.

A limit is written the way an operator reads the rules: ``"3wd"`` (working days, ending at the
close of business), ``"24wh"`` (working hours inside business hours), ``"48h"`` (clock hours),
``"15min"`` (clock minutes). Working time comes from ``working_days.WorkingTime``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Final, Literal

from ticketing.models import TICKET_CATEGORIES
from working_days.business import WorkingTime

Unit = Literal["wd", "wh", "h", "min"]
_LIMIT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(wd|wh|h|min)\s*$")
UNIT_NAMES: Final[Mapping[str, str]] = MappingProxyType(
    {"wd": "working days", "wh": "working hours", "h": "hours", "min": "minutes"}
)


@dataclass(frozen=True, slots=True)
class Limit:
    amount: float
    unit: Unit

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", float(self.amount))
        if self.amount < 0:
            raise ValueError(f"a deadline cannot be negative: {self.amount}")

    @classmethod
    def parse(cls, text: str) -> Limit:
        """``"3wd"``, ``"24wh"``, ``"48h"``, ``"15min"``; ValueError naming the forms else."""
        found = _LIMIT.match(text)
        if found is None:
            raise ValueError(
                f"deadline {text!r}: write a number and a unit, e.g. 3wd (working days), "
                "24wh (working hours), 48h (hours) or 15min"
            )
        amount = float(found.group(1))
        unit: Unit = found.group(2)  # type: ignore[assignment]
        if unit == "wd" and not amount.is_integer():
            raise ValueError(f"deadline {text!r}: working days are whole days")
        return cls(amount, unit)

    def __str__(self) -> str:
        amount = int(self.amount) if self.amount.is_integer() else self.amount
        return f"{amount}{self.unit}"

    def due(self, time: WorkingTime, start: dt.datetime) -> dt.datetime:
        """When a case started at ``start`` is due under this limit (aware, local zone)."""
        if self.unit == "wd":
            return time.add_working_days(start, int(self.amount))
        if self.unit == "wh":
            return time.add_working_hours(start, self.amount)
        minutes = self.amount * (60 if self.unit == "h" else 1)
        return (start + dt.timedelta(minutes=minutes)).astimezone(time.hours.zone)


@dataclass(frozen=True, slots=True)
class ExtensionRule:
    """How many extensions a case may get, each of at most ``days`` working days."""

    times: int
    days: int


URGENT: Final = "urgent"
DIRECT: Final = "direct"  # 直接办理: same day
SPECIAL: Final = "special"  # 特殊事项
# What a limit can be set for: every category, and the urgent / direct / special cases.
LIMIT_KEYS: Final = (*TICKET_CATEGORIES, URGENT, DIRECT, SPECIAL)


@dataclass(frozen=True, slots=True)
class DeadlinePolicy:
    name: str
    limits: Mapping[str, Limit]
    sign: Limit = Limit(24, "wh")
    return_window: Limit = Limit(1, "wd")
    extensions: Mapping[str, ExtensionRule] = field(default_factory=dict)

    def limit_for(self, category: str, urgency: str = "normal") -> Limit:
        """The handling limit of a case: the urgent one if urgent (and the preset has one),
        else its category's."""
        if urgency == URGENT and URGENT in self.limits:
            return self.limits[URGENT]
        return self.limits.get(category) or self.limits["other"]

    def extension_rule(self, category: str, urgency: str = "normal") -> ExtensionRule:
        if urgency == URGENT and URGENT in self.extensions:
            return self.extensions[URGENT]
        return self.extensions.get(category) or self.extensions.get("other", ExtensionRule(0, 0))

    def with_limits(self, overrides: Mapping[str, str]) -> DeadlinePolicy:
        """This preset with some limits changed (``{"complaint": "4wd"}``); ValueError for an
        unknown category or a malformed limit."""
        unknown = sorted(set(overrides) - set(LIMIT_KEYS))
        if unknown:
            kinds = ", ".join(LIMIT_KEYS)
            raise ValueError(f"deadline for unknown case kind(s) {', '.join(unknown)}: use {kinds}")
        limits = dict(self.limits)
        limits.update({key: Limit.parse(text) for key, text in overrides.items()})
        return replace(self, limits=MappingProxyType(limits))


def _limits(**texts: str) -> Mapping[str, Limit]:
    return MappingProxyType({key: Limit.parse(text) for key, text in texts.items()})


# County preset (the domain brief's): urgent no extension (1 wd for force majeure is a
# supervisor's decision, not a rule), consultation once up to 3 wd, others twice up to 5 wd.
_COUNTY_EXTENSIONS: Final = MappingProxyType(
    {
        URGENT: ExtensionRule(0, 0),
        "consultation": ExtensionRule(1, 3),
        "other": ExtensionRule(2, 5),
        **{c: ExtensionRule(2, 5) for c in TICKET_CATEGORIES if c != "consultation"},
    }
)
_COMMON = {DIRECT: "0wd", SPECIAL: "10wd"}

PRESETS: Final[Mapping[str, DeadlinePolicy]] = MappingProxyType(
    {
        "county": DeadlinePolicy(
            "county",
            _limits(urgent="1wd", consultation="3wd", help="5wd", complaint="5wd", report="5wd",
                    suggestion="5wd", praise="5wd", other="5wd", **_COMMON),
            extensions=_COUNTY_EXTENSIONS,
        ),
        # City A counts most limits in clock hours. Suggestions: 48 h when the citizen wants a
        # reply (else archived after 24 h); praise: 24 h when a reply is wanted.
        "city_a": DeadlinePolicy(
            "city_a",
            _limits(urgent="15min", consultation="48h", help="24h", complaint="4wd",
                    report="10wd", suggestion="48h", praise="24h", other="5wd", **_COMMON),
            extensions=_COUNTY_EXTENSIONS,
        ),
        # City B sets no urgent limit of its own: an urgent case takes its category's.
        "city_b": DeadlinePolicy(
            "city_b",
            _limits(consultation="3wd", help="5wd", complaint="5wd", report="10wd",
                    suggestion="5wd", praise="3wd", other="5wd", **_COMMON),
            extensions=_COUNTY_EXTENSIONS,
        ),
    }
)  # fmt: skip


def policy(preset: str = "county", overrides: Mapping[str, str] | None = None) -> DeadlinePolicy:
    """A preset by name, with per-category overrides; ValueError naming the presets."""
    if preset not in PRESETS:
        raise ValueError(f"unknown deadline preset {preset!r}: use {', '.join(PRESETS)}")
    chosen = PRESETS[preset]
    return chosen.with_limits(overrides) if overrides else chosen


@dataclass(frozen=True, slots=True)
class CaseTimers:
    """The deadlines a case's actions set: what the workflow asks when it dispatches,
    extends, redoes or takes a return."""

    time: WorkingTime
    policy: DeadlinePolicy

    def on_dispatch(self, category: str, urgency: str, at: dt.datetime) -> dict[str, dt.datetime]:
        """Handling deadline, sign-by limit and the end of the return window, in UTC."""
        return {
            "due_at": self._utc(self.policy.limit_for(category, urgency).due(self.time, at)),
            "sign_due_at": self._utc(self.policy.sign.due(self.time, at)),
            "return_until": self._utc(self.policy.return_window.due(self.time, at)),
        }

    def extended(self, due_at: dt.datetime, days: int) -> dt.datetime:
        """The deadline moved by ``days`` working days (an approved extension)."""
        return self._utc(self.time.add_working_days(due_at, days))

    def redo_due(self, category: str, urgency: str, at: dt.datetime) -> dt.datetime:
        """A redone case gets its category's full limit again, from the redo."""
        return self._utc(self.policy.limit_for(category, urgency).due(self.time, at))

    def extension_problem(self, category: str, urgency: str, granted: int, days: int) -> str | None:
        """Why an extension of ``days`` cannot be given after ``granted`` ones; None if it can."""
        rule = self.policy.extension_rule(category, urgency)
        if granted >= rule.times:
            if rule.times == 0:
                return f"{self.policy.name} rules allow no extension for this case"
            return f"{self.policy.name} rules allow {rule.times} extension(s); {granted} given"
        if days > rule.days:
            return f"{self.policy.name} rules allow at most {rule.days} working days per extension"
        return None

    @staticmethod
    def _utc(value: dt.datetime) -> dt.datetime:
        return value.astimezone(dt.UTC)


def deadline_view(time: WorkingTime, due_at: dt.datetime, now: dt.datetime) -> dict[str, object]:
    """How a deadline is shown: local time, working days left on the Chinese calendar (0 on
    the due day), overdue or not."""
    zone = time.hours.zone
    due_local = due_at.astimezone(zone)
    today = now.astimezone(zone).date()
    return {
        "due_local": due_local.isoformat(),
        "working_days_left": time.calendar.working_days_between(today, due_local.date()),
        "overdue": now >= due_at,
    }
