"""The batch computation: call records in, a KpiReport out. Pure: no clock, no I/O."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from acd.kpi.book import KpiBook
from acd.kpi.calls import leg_identity, make_call
from acd.kpi.figures import FigureSet, Scope, figures, figures_json
from acd.kpi.legs import BadRecord, Leg, Rejected, parse_leg, record_key
from acd.kpi.params import KpiParams
from acd.kpi.tally import Tally
from acd.kpi.windows import Instant, excluded_by, exclusion_windows

log = logging.getLogger(__name__)

DUPLICATE = "duplicate of an earlier record (same call and leg)"


@dataclass(slots=True)
class Exclusions:
    calls: int = 0
    legs: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {"calls": self.calls, "legs": self.legs, "by_reason": dict(self.by_reason)}


@dataclass(slots=True)
class KpiReport:
    """Hotline-wide, hourly and daily figures count calls; per-queue and per-agent count legs."""

    params: KpiParams
    totals: FigureSet
    by_queue: dict[str, FigureSet]
    by_agent: dict[str, FigureSet]
    by_hour: dict[str, FigureSet]
    by_day: dict[str, FigureSet]
    # Per Asterisk, for records that name their PBX (stored calls do).
    by_pbx: dict[str, FigureSet]
    records: int
    calls: int
    legs: int
    # Calls with no timestamp at all: in the totals, in no hour or day.
    undated_calls: int
    excluded: Exclusions
    rejected: list[Rejected]

    def to_json(self) -> dict[str, Any]:
        def breakdown(sets: dict[str, FigureSet]) -> dict[str, Any]:
            return {key: figures_json(value) for key, value in sets.items()}

        return {
            "params": self.params.to_json(),
            "counts": {
                "records": self.records,
                "calls": self.calls,
                "legs": self.legs,
                "undated_calls": self.undated_calls,
            },
            "excluded": self.excluded.to_json(),
            "rejected": [r.to_json() for r in self.rejected],
            "totals": figures_json(self.totals),
            "by_queue": breakdown(self.by_queue),
            "by_agent": breakdown(self.by_agent),
            "by_hour": breakdown(self.by_hour),
            "by_day": breakdown(self.by_day),
            "by_pbx": breakdown(self.by_pbx),
        }


def _sets(buckets: dict[str, Tally], params: KpiParams, scope: Scope) -> dict[str, FigureSet]:
    return {key: figures(buckets[key], params, scope) for key in sorted(buckets)}


def report_from_book(
    book: KpiBook, records: int, excluded: Exclusions, rejected: list[Rejected]
) -> KpiReport:
    params = book.params
    return KpiReport(
        params=params,
        totals=figures(book.totals, params, "calls"),
        by_queue=_sets(book.by_queue, params, "legs"),
        by_agent=_sets(book.by_agent, params, "agent"),
        by_hour=_sets(book.by_hour, params, "calls"),
        by_day=_sets(book.by_day, params, "calls"),
        by_pbx=_sets(book.by_pbx, params, "calls"),
        records=records,
        calls=book.calls,
        legs=book.legs,
        undated_calls=book.undated_calls,
        # Copies: a live snapshot must not change when the next record arrives.
        excluded=Exclusions(excluded.calls, excluded.legs, Counter(excluded.by_reason)),
        rejected=list(rejected),
    )


def reject(rejected: list[Rejected], record: Any, reason: str) -> None:
    item = Rejected(record_key(record), reason)
    log.warning("KPI: record %s left out: %s", item.key, reason)
    rejected.append(item)


def compute(
    records: Iterable[Mapping[str, Any]],
    params: KpiParams | None = None,
    exclusions: Iterable[tuple[Instant, Instant, str]] | None = None,
) -> KpiReport:
    """Figures over call records (``CallRecord.to_json()`` dicts, or expected.json entries).

    A call whose arrival (earliest queue_entered_at, else started_at, of its legs) falls in an
    exclusion window [start, end) is left out with all its legs and counted in ``excluded``.
    Unusable and duplicate records are listed in ``rejected``, never silently dropped.
    """
    params = params or KpiParams()
    windows = exclusion_windows(exclusions)
    rejected: list[Rejected] = []
    by_call: dict[str, list[Leg]] = {}
    seen: set[tuple[object, ...]] = set()
    count = 0
    for count, record in enumerate(records, start=1):
        try:
            leg = parse_leg(record, fallback_id=f"record-{count}")
        except BadRecord as error:
            reject(rejected, record, str(error))
            continue
        if leg_identity(leg) in seen:
            reject(rejected, record, DUPLICATE)
            continue
        seen.add(leg_identity(leg))
        by_call.setdefault(leg.call_id, []).append(leg)
    book = KpiBook(params)
    excluded = Exclusions()
    for call_id, legs in by_call.items():
        window = excluded_by(windows, make_call(call_id, legs).at)
        if window is not None:
            excluded.calls += 1
            excluded.legs += len(legs)
            excluded.by_reason[window.reason] += 1
            continue
        for leg in legs:
            book.add(leg)
    return report_from_book(book, count, excluded, rejected)
