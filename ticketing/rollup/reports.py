"""The report queries as the reports ask them: ticketing/reports.py's functions, names and
shapes, each answered from the rollups where they are built and clean and from raw rows for
the rest (ledger.plan). hotline/reports/ and the bench import this module; the raw one stays
the definition the rollups are tested against.
"""

from __future__ import annotations

from ticketing.reports import (
    CALL_FIGURES,
    CASE_ID_FIGURES,
    CASE_KEYS,
    DRILL_LIMIT,
    ReportFilter,
    Thresholds,
    case_histories,
    case_keys,
    excluded_calls,
    qa_agent_scores,
)
from ticketing.rollup.call_reports import (
    agent_legs,
    call_groups,
    call_hours,
    call_keys,
    queue_legs,
)
from ticketing.rollup.case_reports import (
    case_callback_counts,
    case_counts,
    case_event_counts,
    case_event_ids,
    case_ids,
)

__all__ = [
    "CALL_FIGURES", "CASE_ID_FIGURES", "CASE_KEYS", "DRILL_LIMIT", "ReportFilter", "Thresholds",
    "agent_legs", "call_groups", "call_hours", "call_keys", "case_callback_counts",
    "case_counts", "case_event_counts", "case_event_ids", "case_histories", "case_ids",
    "case_keys", "excluded_calls", "qa_agent_scores", "queue_legs",
]  # fmt: skip
