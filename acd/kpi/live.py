"""Live counters for today: fed one finished call record at a time, read as a KpiReport.

Used by the wallboard and the MQTT snapshot. ``snapshot()`` equals ``compute()`` over the
same day's records, because both run the same ledger (KpiBook).

"Today" is the local day (KpiParams.timezone) of the clock; at local midnight the counters
start again. A record is placed on the day of its own queue_entered_at (else started_at); a
record of an earlier day (a call that began before midnight and ended after) is not counted
today and shows in ``late_records``. A record of a later day than the clock's moves the
counters to that day.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from acd.kpi.book import KpiBook
from acd.kpi.calls import leg_identity
from acd.kpi.figures import figures_json
from acd.kpi.legs import SURVEY_ANSWERS, BadRecord, Leg, Rejected, parse_leg
from acd.kpi.params import KpiParams
from acd.kpi.report import DUPLICATE, Exclusions, KpiReport, reject, report_from_book
from acd.kpi.windows import Instant, day_key, excluded_by, exclusion_windows

log = logging.getLogger(__name__)


class LiveKpi:
    def __init__(
        self,
        params: KpiParams | None = None,
        exclusions: Iterable[tuple[Instant, Instant, str]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.params = params or KpiParams()
        self._zone = self.params.zone()
        self._clock = clock
        self._windows = exclusion_windows(exclusions)
        self.late_records = 0
        self._start_day(day_key(clock(), self._zone))

    @property
    def day(self) -> str:
        """The local date (YYYY-MM-DD) the counters are for."""
        self._roll(day_key(self._clock(), self._zone))
        return self._day

    def _start_day(self, day: str) -> None:
        self._day = day
        self._records = 0
        self._rejected: list[Rejected] = []
        self._legs: list[Leg] = []  # today's legs, kept so new exclusion windows can apply
        self._seen: set[tuple[object, ...]] = set()
        # Survey answers by linkedid, applied to the call's legs (also ones still to come).
        self._surveys: dict[str, str] = {}
        # Answers for no call: counted hotline-wide and on the day only.
        self._unattributed: list[str] = []
        self._rebuild()

    def _roll(self, day: str) -> None:
        if day > self._day:  # ISO dates compare in calendar order
            log.info("KPI: new day %s, live counters start again", day)
            self._start_day(day)

    def _rebuild(self) -> None:
        self._book = KpiBook(self.params)
        self._excluded = Exclusions()
        self._excluded_calls: set[str] = set()
        for leg in self._legs:
            self._count(leg)
        for answer in self._unattributed:
            self._book.add_unattributed_survey(answer, self._day)

    def set_exclusions(self, exclusions: Iterable[tuple[Instant, Instant, str]]) -> None:
        """Replace the exclusion windows (a supervisor flagged one) and recount today."""
        self._windows = exclusion_windows(exclusions)
        self._rebuild()

    def add(self, record: Mapping[str, Any]) -> bool:
        """Count one finished call record; False if it was rejected, excluded or of another day."""
        self._roll(day_key(self._clock(), self._zone))
        try:
            leg = parse_leg(record, fallback_id=f"live-{self._day}-{self._records + 1}")
        except BadRecord as error:
            self._records += 1
            reject(self._rejected, record, str(error))
            return False
        if leg.at is not None and not self._book.has_call(leg.call_id):
            leg_day = day_key(leg.at, self._zone)
            if leg_day < self._day:
                self.late_records += 1
                log.debug("KPI: record of %s is not counted in today's figures", leg_day)
                return False
            self._roll(leg_day)
        self._records += 1
        if leg_identity(leg) in self._seen:
            reject(self._rejected, record, DUPLICATE)
            return False
        self._seen.add(leg_identity(leg))
        self._legs.append(leg)
        return self._count(leg)

    def add_survey(self, answer: str, linkedid: str | None = None) -> bool:
        """Count a post-call survey answer (it arrives after the call's record).

        With the call's ``linkedid`` the answer counts for that call — its queue, agents, hour
        and day, as compute() counts a record carrying ``survey`` — once the call's record is
        (or later gets) counted today; a call's first answer wins. Without a linkedid it counts
        hotline-wide and for today only. False if it was not counted now.
        """
        if answer not in SURVEY_ANSWERS:
            raise ValueError(f"unknown survey answer {answer!r}")
        self._roll(day_key(self._clock(), self._zone))
        if linkedid is None:
            self._unattributed.append(answer)
            self._book.add_unattributed_survey(answer, self._day)
            return True
        call_id = self._book.call_of(linkedid)
        # A record may have carried the call's answer already (reloaded from the store).
        known = None if call_id is None else self._book.survey_of(call_id)
        answer = self._surveys.setdefault(linkedid, known or answer)
        if call_id is None or call_id in self._excluded_calls:
            return False
        return self._book.set_survey(call_id, answer)

    def _count(self, leg: Leg) -> bool:
        if leg.survey is None and leg.linkedid in self._surveys:
            leg = replace(leg, survey=self._surveys[leg.linkedid])
        if leg.call_id in self._excluded_calls:
            self._excluded.legs += 1
            return False
        if not self._book.has_call(leg.call_id):
            window = excluded_by(self._windows, leg.at)
            if window is not None:
                self._excluded_calls.add(leg.call_id)
                self._excluded.calls += 1
                self._excluded.legs += 1
                self._excluded.by_reason[window.reason] += 1
                return False
        self._book.add(leg)
        return True

    def snapshot(self) -> KpiReport:
        self._roll(day_key(self._clock(), self._zone))
        return report_from_book(self._book, self._records, self._excluded, self._rejected)

    def totals_json(self) -> dict[str, dict[str, Any]]:
        """Today's hotline-wide figures by name: the wallboard's and MQTT's ``kpis`` shape."""
        return figures_json(self.snapshot().totals)
