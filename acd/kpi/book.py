"""The running ledger of legs and calls that both the batch report and the live counters use.

Adding a leg adds its per-queue and per-agent contribution (legs are independent) and replaces
its call's hotline-wide contribution (a call's outcome can change when its next leg arrives).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from acd.kpi.calls import Call, make_call
from acd.kpi.legs import Leg
from acd.kpi.params import KpiParams
from acd.kpi.tally import Tally, agent_tallies, call_tally, leg_tally, survey_tally
from acd.kpi.windows import day_key, hour_key


@dataclass(slots=True)
class _Entry:
    legs: list[Leg]
    tally: Tally
    hour: str | None
    day: str | None
    pbx: str | None = None


class KpiBook:
    def __init__(self, params: KpiParams) -> None:
        self.params = params
        self._zone = params.zone()
        self.totals = Tally()
        self.by_queue: dict[str, Tally] = {}
        self.by_agent: dict[str, Tally] = {}
        self.by_hour: dict[str, Tally] = {}
        self.by_day: dict[str, Tally] = {}
        # Calls per Asterisk (call scope, like the totals, which sum them).
        self.by_pbx: dict[str, Tally] = {}
        self._calls: dict[str, _Entry] = {}
        self._call_of_linkedid: dict[str, str] = {}
        self.legs = 0

    @property
    def calls(self) -> int:
        return len(self._calls)

    @property
    def undated_calls(self) -> int:
        return sum(1 for entry in self._calls.values() if entry.day is None)

    def has_call(self, call_id: str) -> bool:
        return call_id in self._calls

    def call_of(self, linkedid: str) -> str | None:
        """The call id (``Leg.call_id``) of the counted call with this linkedid."""
        return self._call_of_linkedid.get(linkedid)

    def add(self, leg: Leg) -> None:
        """Count a leg; the caller drops replays (``calls.leg_identity``) before."""
        self.legs += 1
        self._count_leg(leg, +1)
        if leg.linkedid is not None:
            self._call_of_linkedid.setdefault(leg.linkedid, leg.call_id)
        entry = self._calls.get(leg.call_id)
        if entry is None:
            entry = self._calls[leg.call_id] = _Entry([], Tally(), None, None)
        else:
            self._apply(entry, -1)
        entry.legs.append(leg)
        call = make_call(leg.call_id, entry.legs)
        entry.tally = call_tally(call, self.params)
        entry.hour, entry.day = self._keys(call)
        entry.pbx = entry.legs[0].pbx
        self._apply(entry, +1)

    def survey_of(self, call_id: str) -> str | None:
        entry = self._calls.get(call_id)
        return None if entry is None else make_call(call_id, entry.legs).survey

    def set_survey(self, call_id: str, answer: str) -> bool:
        """Give a counted call its survey answer; False if it has one (the first one wins)."""
        entry = self._calls[call_id]
        if any(leg.survey is not None for leg in entry.legs):
            return False
        # Take the call out of every bucket, then count it again with the answer.
        for leg in entry.legs:
            self._count_leg(leg, -1)
        self._apply(entry, -1)
        entry.legs = [replace(leg, survey=answer) for leg in entry.legs]
        for leg in entry.legs:
            self._count_leg(leg, +1)
        entry.tally = call_tally(make_call(call_id, entry.legs), self.params)
        self._apply(entry, +1)
        return True

    def add_unattributed_survey(self, answer: str, day: str) -> None:
        """A survey answer for no known call: counted hotline-wide and on ``day`` only."""
        tally = survey_tally(answer)
        self.totals.add(tally)
        self._change(self.by_day, day, tally, +1)

    def _count_leg(self, leg: Leg, sign: int) -> None:
        if leg.queue is not None:
            self._change(self.by_queue, leg.queue, leg_tally(leg, self.params), sign)
        for agent, tally in agent_tallies(leg, self.params).items():
            self._change(self.by_agent, agent, tally, sign)

    def _keys(self, call: Call) -> tuple[str | None, str | None]:
        at = call.at
        if at is None:
            return None, None
        return hour_key(at, self._zone), day_key(at, self._zone)

    def _apply(self, entry: _Entry, sign: int) -> None:
        self.totals.add(entry.tally, sign)
        if entry.hour is not None and entry.day is not None:
            self._change(self.by_hour, entry.hour, entry.tally, sign)
            self._change(self.by_day, entry.day, entry.tally, sign)
        if entry.pbx is not None:
            self._change(self.by_pbx, entry.pbx, entry.tally, sign)

    @staticmethod
    def _bucket(buckets: dict[str, Tally], key: str) -> Tally:
        tally = buckets.get(key)
        if tally is None:
            tally = buckets[key] = Tally()
        return tally

    def _change(self, buckets: dict[str, Tally], key: str, tally: Tally, sign: int) -> None:
        bucket = self._bucket(buckets, key)
        bucket.add(tally, sign)
        if bucket.is_empty():
            del buckets[key]  # a call that moved to another bucket leaves no empty one behind
