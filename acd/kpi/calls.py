"""Group legs into calls.

A call transferred to another queue has one record per queue leg. Hotline-wide figures count
the call once (offered once, answered once if any agent answered it); per-queue and per-agent
figures count legs. This module builds the call view the hotline-wide figures use.
"""

from __future__ import annotations

from dataclasses import dataclass

from acd.kpi.legs import Leg


@dataclass(frozen=True, slots=True)
class Call:
    call_id: str
    legs: tuple[Leg, ...]

    @property
    def at(self) -> float | None:
        """The call's arrival: the earliest known moment of any of its legs."""
        known = [leg.at for leg in self.legs if leg.at is not None]
        return min(known) if known else None

    @property
    def queue_legs(self) -> tuple[Leg, ...]:
        return tuple(leg for leg in self.legs if leg.in_queue)

    @property
    def first_answer(self) -> Leg | None:
        return next((leg for leg in self.legs if leg.answered), None)

    @property
    def outcome(self) -> str:
        """answered if any agent answered; else the outcome of the last queue leg; else IVR."""
        if self.first_answer is not None:
            return "answered"
        queue_legs = self.queue_legs
        return queue_legs[-1].outcome if queue_legs else "ivr_hangup"

    @property
    def survey(self) -> str | None:
        """The call's survey answer: the first any of its legs carries."""
        return next((leg.survey for leg in self.legs if leg.survey is not None), None)

    @property
    def deflected(self) -> bool:
        """The caller was merged into a major-fault incident on any leg."""
        return any(leg.incident_id is not None for leg in self.legs)

    @property
    def wait_s(self) -> float | None:
        """Wait until the first answer; for an unanswered call, the wait in its last queue."""
        answer = self.first_answer
        if answer is not None:
            return answer.wait_s
        queue_legs = self.queue_legs
        return queue_legs[-1].wait_s if queue_legs else None


def _order(indexed: tuple[int, Leg]) -> tuple[bool, int, bool, float, int]:
    index, leg = indexed
    # The tracker's leg number is authoritative; captures have none, so fall back to time.
    return (leg.leg is None, leg.leg or 0, leg.at is None, leg.at or 0.0, index)


def make_call(call_id: str, legs: list[Leg]) -> Call:
    ordered = sorted(enumerate(legs), key=_order)
    return Call(call_id, tuple(leg for _, leg in ordered))


def leg_identity(leg: Leg) -> tuple[object, ...]:
    """Two records with the same identity are the same leg delivered twice."""
    if leg.leg is not None:
        return (leg.call_id, leg.leg)
    return (leg.call_id, leg.queue, leg.at, leg.outcome)
