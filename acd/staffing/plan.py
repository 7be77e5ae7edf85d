"""A day's staffing plan, half hour by half hour: calls (forecast or typed in), AHT, and the
agents Erlang C says they need for the target, with the service level and ASA they give.

Pure: the call records come in (``CallRecord.to_json()`` dicts, as the store returns them),
the plan goes out. The forecast for a day is the mean of the same weekday on recent weeks,
slot by slot; a week with no call at all that weekday is left out of the mean (the hotline
was not running yet, or the records were lost), not counted as a quiet day.

What counts: a call is offered to agents in the half hour it entered a queue (each queue
leg: a transferred call takes an agent's time twice); AHT is the talk of answered legs plus
the wrap-up of each, over answered legs, the KPI engine's own AHT formula (acd.kpi).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from acd.staffing.erlang import Staffing, agents_needed

SLOT_S = 1800
SLOTS_PER_DAY = 24 * 3600 // SLOT_S
_ANSWERED = frozenset({"answered", "transferred"})


@dataclass(frozen=True, slots=True)
class Target:
    """The service-level goal: ``service_level`` of calls answered within ``answer_s``."""

    service_level: float = 0.80
    answer_s: float = 15.0
    max_occupancy: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.service_level < 1:
            raise ValueError("service_level must be between 0 and 1 (exclusive)")
        if self.answer_s < 0 or not math.isfinite(self.answer_s):
            raise ValueError("answer_s must be a finite number ≥ 0")
        if not 0 < self.max_occupancy <= 1:
            raise ValueError("max_occupancy must be in (0, 1]")

    def to_json(self) -> dict[str, Any]:
        return {
            "service_level": self.service_level,
            "answer_s": self.answer_s,
            "max_occupancy": self.max_occupancy,
        }


@dataclass(slots=True)
class DayHistory:
    """One past day's offered legs and handled seconds per half hour."""

    day: date
    calls: list[int] = field(default_factory=lambda: [0] * SLOTS_PER_DAY)
    answered: list[int] = field(default_factory=lambda: [0] * SLOTS_PER_DAY)
    handled_s: list[float] = field(default_factory=lambda: [0.0] * SLOTS_PER_DAY)

    @property
    def total(self) -> int:
        return sum(self.calls)


def slot_of(moment: datetime) -> int:
    """The half hour of the local day ``moment`` (aware, local) falls in: 0 … 47."""
    return (moment.hour * 3600 + moment.minute * 60 + moment.second) // SLOT_S


def slot_label(slot: int) -> str:
    return f"{slot * SLOT_S // 3600:02d}:{slot * SLOT_S % 3600 // 60:02d}"


def same_weekdays(day: date, weeks: int) -> list[date]:
    """The same weekday on each of the ``weeks`` weeks before ``day``, nearest first."""
    return [day - timedelta(weeks=n) for n in range(1, weeks + 1)]


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A local day as [start, end) instants (23 or 25 hours across a DST change)."""
    start = datetime.combine(day, time(0), zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), zone)


def history(
    records: Iterable[Mapping[str, Any]], days: Sequence[date], zone: ZoneInfo, wrap_up_s: float
) -> list[DayHistory]:
    """The records' queue legs counted per day of ``days`` and half hour (others ignored)."""
    wanted = {d: DayHistory(d) for d in days}
    for record in records:
        entered = record.get("queue_entered_at")
        if not isinstance(entered, int | float) or isinstance(entered, bool):
            continue  # never offered to agents (hung up in the IVR, emergency advice…)
        local = datetime.fromtimestamp(entered, zone)
        past = wanted.get(local.date())
        if past is None:
            continue
        slot = slot_of(local)
        past.calls[slot] += 1
        if record.get("outcome") in _ANSWERED:
            talk = record.get("talk_s")
            past.answered[slot] += 1
            past.handled_s[slot] += (talk if isinstance(talk, int | float) else 0) + wrap_up_s
    return [wanted[d] for d in days]


@dataclass(frozen=True, slots=True)
class Forecast:
    calls: list[float]  # per half hour
    aht_s: list[float]  # per half hour
    weeks_used: list[date]  # the past days the mean is over
    aht_default: bool  # no answered call in the history: the configured AHT was used


def forecast(past: Sequence[DayHistory], default_aht_s: float) -> Forecast:
    """Mean calls per half hour over the past days that had calls; AHT per half hour from
    their answered legs, else the whole history's AHT, else ``default_aht_s``."""
    used = [p for p in past if p.total > 0]
    calls = [
        sum(p.calls[s] for p in used) / len(used) if used else 0.0 for s in range(SLOTS_PER_DAY)
    ]
    answered = sum(sum(p.answered) for p in used)
    overall = sum(sum(p.handled_s) for p in used) / answered if answered else default_aht_s
    aht = []
    for s in range(SLOTS_PER_DAY):
        slot_answered = sum(p.answered[s] for p in used)
        aht.append(sum(p.handled_s[s] for p in used) / slot_answered if slot_answered else overall)
    return Forecast(calls, aht, [p.day for p in used], answered == 0)


@dataclass(frozen=True, slots=True)
class SlotPlan:
    slot: int
    calls: float
    aht_s: float
    typed: bool  # the calls were typed in, not forecast
    staffing: Staffing

    def to_json(self) -> dict[str, Any]:
        return {
            "slot": self.slot,
            "start": slot_label(self.slot),
            "calls": self.calls,
            "aht_s": self.aht_s,
            "typed": self.typed,
            **self.staffing.to_json(),
        }


def plan(
    calls: Sequence[float],
    aht_s: Sequence[float],
    target: Target,
    typed: Mapping[int, float] | None = None,
) -> list[SlotPlan]:
    """One row per half hour: ``typed`` calls (slot → calls) override the forecast ones."""
    if len(calls) != SLOTS_PER_DAY or len(aht_s) != SLOTS_PER_DAY:
        raise ValueError(f"a day has {SLOTS_PER_DAY} half hours")
    overrides = dict(typed or {})
    for slot, value in overrides.items():
        if not 0 <= slot < SLOTS_PER_DAY:
            raise ValueError(f"slot {slot}: a day has half hours 0 … {SLOTS_PER_DAY - 1}")
        if value < 0 or not math.isfinite(value):
            raise ValueError(f"slot {slot}: calls must be a finite number ≥ 0")
    rows = []
    for slot in range(SLOTS_PER_DAY):
        offered = overrides.get(slot, calls[slot])
        needed = agents_needed(
            offered,
            aht_s[slot],
            service_level=target.service_level,
            answer_s=target.answer_s,
            period_s=SLOT_S,
            max_occupancy=target.max_occupancy,
        )
        rows.append(SlotPlan(slot, offered, aht_s[slot], slot in overrides, needed))
    return rows
