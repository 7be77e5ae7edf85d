"""Case KPIs (../shared/domain.md, "KPIs"), each with its formula: per handling unit the
on-time, extension, redo and return rates; for the hotline the call-back coverage (回访率)
and satisfaction (满意率), result and process rated apart. Computed from the cases' histories
alone (the events are the truth), for the cases opened in a span.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.tickets import ticket_events, tickets

SATISFIED: Final = frozenset({"satisfied", "basically_satisfied"})
RATED: Final = frozenset({"satisfied", "basically_satisfied", "dissatisfied"})
FORMULAS: Final[Mapping[str, str]] = {
    "on_time_rate": "answers given by the deadline in force then ÷ answers (办结及时率)",
    "extension_rate": "cases given at least one extension ÷ cases dispatched (延期率)",
    "redo_rate": "redos ÷ answers (重办率)",
    "return_rate": "returns asked ÷ cases dispatched (退件率)",
    "callback_coverage": "cases called back ÷ cases answered or closed (回访率)",
    "satisfaction": "(satisfied + basically satisfied) ÷ rated call-backs (满意率)",
    "process_satisfaction": "the same, for how the case was handled (过程满意率)",
}


def _figure(name: str, numerator: int, denominator: int) -> dict[str, Any]:
    return {
        "value": None if denominator == 0 else numerator / denominator,
        "numerator": numerator,
        "denominator": denominator,
        "formula": FORMULAS[name],
    }


def case_kpis(histories: Iterable[Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    """The figures over some cases' histories (each oldest event first)."""
    units: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    answered_or_closed = called_back = 0
    result: dict[str, int] = defaultdict(int)
    process: dict[str, int] = defaultdict(int)
    for events in histories:
        due: datetime | None = None
        extended: set[str] = set()
        done = back = False
        for event in events:
            data = event.get("data") or {}
            fields = data.get("fields") or {}
            kind = event["kind"]
            at = (
                event["at"]
                if isinstance(event["at"], datetime)
                else datetime.fromisoformat(event["at"])
            )
            timers = data.get("timers") or {}
            if "due_at" in timers:
                due = datetime.fromisoformat(timers["due_at"])
            unit = fields.get("unit") if kind == "dispatch" else data.get("unit")
            if kind == "dispatch" and unit:
                units[unit]["dispatched"] += 1
            elif kind == "answer" and unit:
                units[unit]["answered"] += 1
                units[unit]["on_time"] += due is None or at <= due
                done = True
            elif kind == "approve_extension":
                holder = events_unit(events, event)
                if holder and holder not in extended:
                    extended.add(holder)
                    units[holder]["extended"] += 1
            elif kind == "redo":
                holder = events_unit(events, event)
                if holder:
                    units[holder]["redone"] += 1
            elif kind == "return" and unit:
                units[unit]["returned"] += 1
            elif data.get("to") == "closed":
                done = True
            elif kind == "call_back":
                back = True
                if fields.get("satisfaction") in RATED:
                    result[fields["satisfaction"]] += 1
                if fields.get("process_satisfaction") in RATED:
                    process[fields["process_satisfaction"]] += 1
        answered_or_closed += done
        called_back += back and done
    per_unit = {
        name: {
            "dispatched": counts["dispatched"],
            "on_time_rate": _figure("on_time_rate", counts["on_time"], counts["answered"]),
            "extension_rate": _figure("extension_rate", counts["extended"], counts["dispatched"]),
            "redo_rate": _figure("redo_rate", counts["redone"], counts["answered"]),
            "return_rate": _figure("return_rate", counts["returned"], counts["dispatched"]),
        }
        for name, counts in sorted(units.items())
    }
    return {
        "units": per_unit,
        "callback_coverage": _figure("callback_coverage", called_back, answered_or_closed),
        "satisfaction": _figure(
            "satisfaction", sum(result[k] for k in SATISFIED), sum(result.values())
        ),
        "process_satisfaction": _figure(
            "process_satisfaction", sum(process[k] for k in SATISFIED), sum(process.values())
        ),
    }


def events_unit(events: Sequence[Mapping[str, Any]], event: Mapping[str, Any]) -> str | None:
    """The unit that held the case when ``event`` happened: the latest dispatch before it."""
    holder = None
    for earlier in events:
        if earlier is event:
            break
        if earlier["kind"] == "dispatch":
            holder = (earlier.get("data") or {}).get("fields", {}).get("unit")
        elif (earlier.get("data") or {}).get("to") == "to_dispatch":
            holder = None
    return holder


async def histories_of_cases_opened(
    connection: AsyncConnection, start: datetime, end: datetime
) -> list[list[dict[str, Any]]]:
    """The histories of the cases opened in [start, end), each oldest event first."""
    opened = select(tickets.c.id).where(tickets.c.created_at >= start, tickets.c.created_at < end)
    rows = await connection.execute(
        select(ticket_events.c.ticket_id, ticket_events.c.kind, ticket_events.c.at,
               ticket_events.c.data)
        .where(ticket_events.c.ticket_id.in_(opened))
        .order_by(ticket_events.c.ticket_id, ticket_events.c.id)
    )  # fmt: skip
    by_case: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_case[row.ticket_id].append({"kind": row.kind, "at": row.at, "data": row.data})
    return list(by_case.values())
