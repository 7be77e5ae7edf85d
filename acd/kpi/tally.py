"""Counters and sums behind the figures, for a call, a leg, or any bucket of them.

Tallies add and subtract, so the live counters can replace a call's contribution when its
next leg arrives and stay equal to a batch computation over the same records.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields

from acd.kpi.calls import Call
from acd.kpi.legs import Leg
from acd.kpi.params import KpiParams

_COUNTS = (
    "units",
    "offered",
    "answered",
    "answered_within",
    "abandoned",
    "short_abandons",
    "timeouts",
    "join_rejections",
    "ivr_hangups",
    "transfers",
    "handlings",
    "ring_no_answer",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "survey_none",
    "deflected",
)


@dataclass(slots=True)
class Tally:
    units: int = 0  # calls or legs counted, queue or not
    offered: int = 0
    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0
    short_abandons: int = 0
    timeouts: int = 0
    join_rejections: int = 0
    ivr_hangups: int = 0
    transfers: int = 0
    # Agent handlings: one per answered leg (a transferred call has two).
    handlings: int = 0
    ring_no_answer: int = 0
    # Post-call survey answers; survey_none = heard the survey, gave no rating.
    satisfied: int = 0
    basically_satisfied: int = 0
    dissatisfied: int = 0
    survey_none: int = 0
    # Calls (or legs) whose caller was merged into a major-fault incident (并单).
    deflected: int = 0
    answered_wait_s: float = 0.0
    talk_s: float = 0.0
    # Multiset of queue waits, so the longest wait survives subtraction.
    waits: Counter[float] = field(default_factory=Counter)

    def add(self, other: Tally, sign: int = 1) -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + sign * getattr(other, name))
        self.answered_wait_s += sign * other.answered_wait_s
        self.talk_s += sign * other.talk_s
        for wait, n in other.waits.items():
            self.waits[wait] += sign * n
            if self.waits[wait] == 0:
                del self.waits[wait]

    @property
    def rated(self) -> int:
        return self.satisfied + self.basically_satisfied + self.dissatisfied

    @property
    def longest_wait_s(self) -> float | None:
        return max(self.waits) if self.waits else None

    def is_empty(self) -> bool:
        return (
            all(getattr(self, f.name) in (0, 0.0) for f in fields(self) if f.name != "waits")
            and not self.waits
        )


def _queue_result(tally: Tally, outcome: str, wait_s: float, params: KpiParams) -> None:
    tally.offered = 1
    tally.waits[wait_s] += 1
    if outcome == "abandoned":
        tally.abandoned = 1
        tally.short_abandons = int(params.is_short_abandon(wait_s))
    elif outcome == "timeout":
        tally.timeouts = 1
    elif outcome == "joinempty":
        tally.join_rejections = 1


def survey_tally(answer: str) -> Tally:
    """One survey answer as counts (SURVEY_ANSWERS names them)."""
    tally = Tally()
    _count_survey(tally, answer)
    return tally


def _count_survey(tally: Tally, answer: str | None) -> None:
    if answer is None:
        return
    name = "survey_none" if answer == "none" else answer
    setattr(tally, name, getattr(tally, name) + 1)


def _answered(tally: Tally, wait_s: float, params: KpiParams) -> None:
    tally.answered = 1
    tally.answered_within = int(wait_s <= params.answer_threshold_s)
    tally.answered_wait_s = wait_s


def leg_tally(leg: Leg, params: KpiParams) -> Tally:
    """A leg's contribution to per-queue and per-agent figures."""
    tally = Tally(units=1, ring_no_answer=len(leg.ring_no_answer))
    tally.deflected = int(leg.incident_id is not None)
    if not leg.in_queue:
        tally.ivr_hangups = 1
        return tally
    assert leg.wait_s is not None  # parse_leg guarantees it for queue legs
    _queue_result(tally, leg.outcome, leg.wait_s, params)
    if leg.answered:
        assert leg.talk_s is not None
        _answered(tally, leg.wait_s, params)
        tally.handlings = 1
        tally.talk_s = leg.talk_s
        tally.transfers = int(leg.outcome == "transferred")
        # The caller rates the whole call: every queue and agent that answered it is credited.
        _count_survey(tally, leg.survey)
    return tally


def call_tally(call: Call, params: KpiParams) -> Tally:
    """A call's contribution to hotline-wide, hourly and daily figures: the call counts once."""
    tally = Tally(units=1, deflected=int(call.deflected))
    _count_survey(tally, call.survey)
    outcome, wait_s = call.outcome, call.wait_s
    if outcome == "ivr_hangup" or wait_s is None:
        tally.ivr_hangups = 1
        return tally
    _queue_result(tally, outcome, wait_s, params)
    if outcome == "answered":
        _answered(tally, wait_s, params)
    for leg in call.legs:
        if leg.answered:
            assert leg.talk_s is not None
            tally.handlings += 1
            tally.talk_s += leg.talk_s
        tally.transfers += int(leg.outcome == "transferred")
        tally.ring_no_answer += len(leg.ring_no_answer)
    return tally


def agent_tallies(leg: Leg, params: KpiParams) -> dict[str, Tally]:
    """A leg's contribution to each agent it touched: who answered it, who let it ring."""
    result: dict[str, Tally] = {}
    if leg.answered and leg.answered_by is not None:
        handled = leg_tally(leg, params)
        handled.ring_no_answer = 0  # the rings belong to the agents that let it ring
        handled.deflected = 0
        result[leg.answered_by] = handled
    for name in leg.ring_no_answer:
        result.setdefault(name, Tally()).ring_no_answer += 1
    return result
