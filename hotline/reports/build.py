"""A report (日报/周报/月度简报) from the report queries (ticketing/reports.py): call KPIs through
acd.kpi's figures (the same formulas, numerators and denominators as /api/kpi), case KPIs
with ticketing.workflow.case_kpis's definitions and formulas (as /api/case-kpis; counted by
the database, so a big month needs no pass over every history: ``case_section`` computes them
from the histories and the tests hold both equal), the monthly unit and agent scores, and the
hot topics. The result is plain JSON data: the console page, the XLSX, the PDF and
``hotline report`` all render the same dict.

Every figure can be traced: ``drill_calls`` and ``drill_cases`` list the calls or cases
behind a figure, with the same filter and period.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.kpi import KpiParams, Tally, day_key, figures, figures_json, hour_key
from hotline.reports.periods import Period
from hotline.web.caller_mask import caller_number_for
from ticketing.reports import ReportFilter, Thresholds
from ticketing.rollup import reports as queries
from ticketing.workflow.case_kpis import FORMULAS, RATED, SATISFIED, case_kpis, events_unit

Step = Callable[[str], None]
# The steps build_report reports to a progress bar, in order.
STEPS: Final = (
    "call_hours", "excluded_calls", "queue_legs", "agent_legs", "call_groups",
    "case_event_counts",
    "case_callback_counts", "case_counts", "qa_scores",
)  # fmt: skip
UNIT_RATES: Final = ("on_time_rate", "extension_rate", "redo_rate", "return_rate")
HOTLINE_RATES: Final = ("callback_coverage", "satisfaction", "process_satisfaction")
CASE_FIGURES: Final = ("cases", "dispatched", *UNIT_RATES, *HOTLINE_RATES)
CASE_LABELS: Final = {
    "cases": "工单数 cases",
    "dispatched": "派单数 dispatched",
    "on_time_rate": "按时办结率 on-time rate",
    "extension_rate": "延期率 extension rate",
    "redo_rate": "重办率 redo rate",
    "return_rate": "退件率 return rate",
    "callback_coverage": "回访率 call-back coverage",
    "satisfaction": "结果满意率 satisfaction (result)",
    "process_satisfaction": "过程满意率 satisfaction (process)",
}
HOT_TOPICS: Final = 10
# Which count of a rate a drill-down lists; shortfall = denominator but not numerator.
PARTS: Final = ("numerator", "denominator", "shortfall")
# The figures the files list the calls and cases of (the ones someone has to chase).
CALL_DRILLS: Final = {
    "abandoned": "排队放弃 abandoned",
    "answered_late": "超时接通 answered late",
    "dissatisfied": "不满意 dissatisfied",
    "excluded": "剔除 excluded",
}
CASE_DRILLS: Final = {
    "超期办结 overdue": "overdue",
    "延期 extended": "extended",
    "重办 redone": "redone",
    "退件 returned": "returned",
    "回访不满意 dissatisfied": "dissatisfied",
}
NO_AREA: Final = "未填 none"  # no area (or unit): not filled in, or a call without a case


class MonthlyQa(Protocol):
    """ticketing.qa.QaDesk: the monthly 100-point agent QA score."""

    async def monthly(
        self, start: datetime, end: datetime, agent: str | None = None
    ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class ReportPolicy:
    """The report's policy (settings ``[reports]``): how many hot topics, and the monthly
    100-point unit score (domain: "satisfaction-weighted, −1 per overdue/redo/
    late return, bonuses for very satisfied"): 100 × the unit's call-back satisfaction rate
    (100 with no rating yet), minus ``deduction`` per overdue answer, redo and late return,
    plus ``bonus`` per "satisfied" (the top rating), kept within 0..100."""

    deduction: float = 1.0
    bonus: float = 0.5
    hot_topics: int = HOT_TOPICS  # how many categories and areas the hot topics list

    @classmethod
    def from_settings(cls, settings: Any) -> ReportPolicy:
        """From ``settings.reports`` (hotline.settings.ReportsSettings)."""
        return cls(settings.unit_deduction, settings.unit_bonus, settings.hot_topics)

    def formula(self) -> str:
        return (
            f"100 × satisfied ÷ rated − {self.deduction:g} × (overdue + redos + late returns)"
            f" + {self.bonus:g} × top ratings, within 0..100"
        )


def _tally(row: Mapping[str, Any], units: str) -> Tally:
    names = (
        "offered", "answered", "answered_within", "abandoned", "short_abandons", "timeouts",
        "join_rejections", "ivr_hangups", "transfers", "handlings", "ring_no_answer",
        "satisfied", "basically_satisfied", "dissatisfied", "survey_none", "deflected",
    )  # fmt: skip
    tally = Tally(units=int(row[units]))
    for name in names:
        setattr(tally, name, int(row[name]))
    tally.answered_wait_s = float(row["answered_wait_s"])
    tally.talk_s = float(row["talk_s"])
    if row.get("longest_wait") is not None:
        tally.waits[float(row["longest_wait"])] = 1
    return tally


def thresholds(params: KpiParams) -> Thresholds:
    return Thresholds(params.answer_threshold_s, params.short_abandon_s)


def call_section(
    hours: Sequence[Mapping[str, Any]],
    queues: Sequence[Mapping[str, Any]],
    agents: Sequence[Mapping[str, Any]],
    excluded: Mapping[str, int],
    params: KpiParams,
    groups: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The call KPIs: totals, per local hour and day, per hour of the day, per queue and per
    agent, each figure with its formula, numerator and denominator (acd.kpi.figures)."""
    zone = params.zone()
    totals = Tally()
    by_hour: dict[str, Tally] = defaultdict(Tally)
    by_day: dict[str, Tally] = defaultdict(Tally)
    profile = [0] * 24
    for row in hours:
        tally = _tally(row, "calls")
        at = row["hour"].timestamp()
        totals.add(tally)
        by_hour[hour_key(at, zone)].add(tally)
        by_day[day_key(at, zone)].add(tally)
        profile[datetime.fromtimestamp(at, zone).hour] += tally.units
    return {
        "totals": figures_json(figures(totals, params, "calls")),
        "by_hour": {k: figures_json(figures(by_hour[k], params, "calls")) for k in sorted(by_hour)},
        "by_day": {k: figures_json(figures(by_day[k], params, "calls")) for k in sorted(by_day)},
        "hour_of_day": {f"{h:02d}": profile[h] for h in range(24)},
        "by_queue": {
            str(r["key"]): figures_json(figures(_tally(r, "legs"), params, "legs")) for r in queues
        },
        "by_agent": {
            str(r["key"]): figures_json(figures(_tally(r, "legs"), params, "agent")) for r in agents
        },
        **{
            f"by_{by}": {
                (str(r["key"]) or NO_AREA): figures_json(figures(_tally(r, "calls"), params))
                for r in rows
            }
            for by, rows in (groups or {}).items()
        },
        "calls": totals.units,
        "excluded": {"calls": sum(excluded.values()), "by_reason": dict(excluded)},
    }


def _rate(name: str, numerator: int, denominator: int) -> dict[str, Any]:
    return {
        "value": None if denominator == 0 else numerator / denominator,
        "numerator": numerator,
        "denominator": denominator,
        "formula": FORMULAS[name],
    }


def case_totals(kpis: Mapping[str, Any], cases: int) -> dict[str, Any]:
    """A set of cases' figures: the unit rates summed over its units, and the hotline's
    call-back coverage and satisfaction as case_kpis gives them."""
    out: dict[str, Any] = {
        "cases": cases,
        "dispatched": sum(u["dispatched"] for u in kpis["units"].values()),
    }
    for name in UNIT_RATES:
        out[name] = _rate(
            name,
            sum(u[name]["numerator"] for u in kpis["units"].values()),
            sum(u[name]["denominator"] for u in kpis["units"].values()),
        )
    for name in HOTLINE_RATES:
        out[name] = kpis[name]
    return out


def _grouped(histories: Sequence[Mapping[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[list[dict[str, Any]]]] = defaultdict(list)
    for case in histories:
        groups[case[key] or NO_AREA].append(case["events"])
    return {
        name: case_totals(case_kpis(groups[name]), len(groups[name])) for name in sorted(groups)
    }


def case_section(histories: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The case KPIs of the cases opened in the period: totals, per unit, category, area."""
    kpis = case_kpis([case["events"] for case in histories])
    return {
        "totals": case_totals(kpis, len(histories)),
        "by_unit": kpis["units"],
        "by_category": _grouped(histories, "category"),
        "by_area": _grouped(histories, "area"),
    }


def _unit_figures(counts: Mapping[str, int]) -> dict[str, Any]:
    """One unit's figures from its counts (queries.case_event_counts), as case_kpis has them."""
    n = defaultdict(int, counts)
    return {
        "dispatched": n["dispatched"],
        "on_time_rate": _rate("on_time_rate", n["on_time"], n["answered"]),
        "extension_rate": _rate("extension_rate", n["extended"], n["dispatched"]),
        "redo_rate": _rate("redo_rate", n["redone"], n["answered"]),
        "return_rate": _rate("return_rate", n["returned"], n["dispatched"]),
    }


def _group_figures(
    cases: int, events: Mapping[str, int], backs: Mapping[str, int]
) -> dict[str, Any]:
    """A set of cases' figures (as case_totals gives them) from the database's counts."""
    b = defaultdict(int, backs)
    return {
        "cases": cases,
        **_unit_figures(events),
        "callback_coverage": _rate("callback_coverage", b["called_back"], b["done"]),
        "satisfaction": _rate("satisfaction", b["satisfied"], b["rated"]),
        "process_satisfaction": _rate(
            "process_satisfaction", b["process_satisfied"], b["process_rated"]
        ),
    }


def case_section_from_counts(
    cases: Mapping[str, Mapping[str, int]],
    events: Mapping[str, Mapping[str, Mapping[str, int]]],
    backs: Mapping[str, Mapping[str, Mapping[str, int]]],
) -> dict[str, Any]:
    """The case KPIs from the report queries' counts: ``cases`` per category/area (and
    total), ``events`` per unit/category/area/total, ``backs`` per category/area/total."""

    def groups(by: str) -> dict[str, Any]:
        keys = sorted(set(cases[by]) | set(events[by]) | set(backs[by]))
        return {
            (key or NO_AREA): _group_figures(
                cases[by].get(key, 0), events[by].get(key, {}), backs[by].get(key, {})
            )
            for key in keys
        }

    return {
        "totals": _group_figures(
            sum(cases["category"].values()),
            events["total"].get("", {}),
            backs["total"].get("", {}),
        ),
        "by_unit": {unit: _unit_figures(events["unit"][unit]) for unit in sorted(events["unit"])},
        "by_category": groups("category"),
        "by_area": groups("area"),
    }


def unit_scores_from_counts(
    by_unit: Mapping[str, Mapping[str, int]], policy: ReportPolicy
) -> list[dict[str, Any]]:
    """Each unit's 100-point score of the period (``ReportPolicy``), with its parts."""
    result = []
    for unit in sorted(by_unit):
        n = defaultdict(int, by_unit[unit])
        overdue = n["answered"] - n["on_time"]
        base = 100.0 * n["satisfied"] / n["rated"] if n["rated"] else 100.0
        deductions = policy.deduction * (overdue + n["redone"] + n["late_returns"])
        bonus = policy.bonus * n["top"]
        result.append({
            "unit": unit, "score": round(min(100.0, max(0.0, base - deductions + bonus)), 1),
            "base": round(base, 1), "rated": n["rated"], "satisfied": n["satisfied"],
            "top_ratings": n["top"], "overdue": overdue, "redos": n["redone"],
            "late_returns": n["late_returns"], "deductions": deductions, "bonus": bonus,
            "formula": policy.formula(),
        })  # fmt: skip
    return result


def _timer(data: Mapping[str, Any], name: str) -> datetime | None:
    value = (data.get("timers") or {}).get(name)
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _at(event: Mapping[str, Any]) -> datetime:
    at = event["at"]
    return at if isinstance(at, datetime) else datetime.fromisoformat(at)


def unit_scores(
    histories: Sequence[Mapping[str, Any]],
    by_unit: Mapping[str, Mapping[str, Any]],
    policy: ReportPolicy,
) -> list[dict[str, Any]]:
    """Each unit's 100-point score of the period (``ReportPolicy``), with its parts."""
    rated: dict[str, int] = defaultdict(int)
    satisfied: dict[str, int] = defaultdict(int)
    top: dict[str, int] = defaultdict(int)
    late_returns: dict[str, int] = defaultdict(int)
    for case in histories:
        events = case["events"]
        return_until: datetime | None = None
        for event in events:
            data = event.get("data") or {}
            return_until = _timer(data, "return_until") or return_until
            if event["kind"] == "return" and return_until and _at(event) > return_until:
                holder = data.get("unit") or events_unit(events, event)
                if holder:
                    late_returns[holder] += 1
            if event["kind"] != "call_back":
                continue
            answer = (data.get("fields") or {}).get("satisfaction")
            holder = events_unit(events, event)
            if holder is None or answer not in RATED:
                continue
            rated[holder] += 1
            satisfied[holder] += answer in SATISFIED
            top[holder] += answer == "satisfied"
    result = []
    for unit in sorted(by_unit):
        figures_of = by_unit[unit]
        on_time = figures_of["on_time_rate"]
        overdue = int(on_time["denominator"] - on_time["numerator"])
        redos = int(figures_of["redo_rate"]["numerator"])
        base = 100.0 * satisfied[unit] / rated[unit] if rated[unit] else 100.0
        deductions = policy.deduction * (overdue + redos + late_returns[unit])
        bonus = policy.bonus * top[unit]
        score = min(100.0, max(0.0, base - deductions + bonus))
        result.append({
            "unit": unit, "score": round(score, 1), "base": round(base, 1),
            "rated": rated[unit], "satisfied": satisfied[unit], "top_ratings": top[unit],
            "overdue": overdue, "redos": redos, "late_returns": late_returns[unit],
            "deductions": deductions, "bonus": bonus, "formula": policy.formula(),
        })  # fmt: skip
    return result


def agent_scores(
    qa: Sequence[Mapping[str, Any]], by_agent: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Each agent's monthly 100-point QA score (ticketing.qa.QaDesk.monthly: the mean of their
    scored calls) beside their calls answered, answer timeliness and caller satisfaction."""
    scores = {str(row["agent"]): row for row in qa}
    result = []
    for agent in sorted(set(scores) | set(by_agent)):
        score = scores.get(agent) or {}
        calls = by_agent.get(agent) or {}
        result.append({
            "agent": agent,
            "qa_score": score.get("score"),
            "qa_calls": score.get("calls", 0),
            "marked_down": score.get("marked_down", {}),
            "answered": (calls.get("answered") or {}).get("value", 0),
            "answer_timeliness": (calls.get("answer_timeliness") or {}).get("value"),
            "satisfaction": (calls.get("satisfaction") or {}).get("value"),
        })  # fmt: skip
    return result


def hot_topics(
    now: Mapping[str, int], before: Mapping[str, int], most: int = HOT_TOPICS
) -> list[dict[str, Any]]:
    """The ``most`` frequent keys of the period, with their count the period before and the
    change (a rate only when there were some before)."""
    ranked = sorted(now.items(), key=lambda kv: (-kv[1], kv[0]))[:most]
    out = []
    for key, cases in ranked:
        previous = int(before.get(key, 0))
        out.append({
            "key": key or NO_AREA, "cases": cases, "previous": previous,
            "change": cases - previous,
            "change_rate": None if previous == 0 else (cases - previous) / previous,
        })  # fmt: skip
    return out


async def build_report(
    engine: AsyncEngine,
    period: Period,
    flt: ReportFilter,
    params: KpiParams,
    *,
    qa: MonthlyQa | None = None,
    policy: ReportPolicy | None = None,
    step: Step | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The whole report of a period and filter; ``step`` hears each query as it is done."""
    tick = step or (lambda _name: None)
    start, end = period.start, period.end
    limits = thresholds(params)
    async with engine.connect() as connection:
        hours = await queries.call_hours(connection, start, end, flt, limits)
        tick("call_hours")
        excluded = await queries.excluded_calls(connection, start, end, flt)
        tick("excluded_calls")
        queues = await queries.queue_legs(connection, start, end, flt, limits)
        tick("queue_legs")
        agents = await queries.agent_legs(connection, start, end, flt, limits)
        tick("agent_legs")
        groups = {
            by: await queries.call_groups(connection, start, end, by, flt, limits)
            for by in ("category", "area", "unit")
        }
        tick("call_groups")
        events = {
            by: await queries.case_event_counts(connection, start, end, by, flt)
            for by in queries.CASE_KEYS
        }
        tick("case_event_counts")
        backs = {
            by: await queries.case_callback_counts(connection, start, end, by, flt)
            for by in ("category", "area", "total")
        }
        tick("case_callback_counts")
        counts = {
            (by, when): await queries.case_counts(connection, first, last, by, flt)
            for by in ("category", "area")
            for when, (first, last) in {
                "now": (start, end),
                "before": (period.previous_start, period.previous_end),
            }.items()
        }
        tick("case_counts")
    monthly = await qa.monthly(start, end) if qa is not None else []
    tick("qa_scores")
    calls = call_section(hours, queues, agents, excluded, params, groups)
    cases = case_section_from_counts(
        {"category": counts["category", "now"], "area": counts["area", "now"]}, events, backs
    )
    policy = policy or ReportPolicy()
    most = policy.hot_topics
    return {
        "kind": period.kind,
        "title": period.title,
        "label": period.label,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "previous": {"from": period.previous_start.isoformat(),
                     "to": period.previous_end.isoformat()},
        "filter": flt.to_json(),
        "params": params.to_json(),
        "generated_at": (now or datetime.now(UTC)).isoformat(),
        "call_kpis": calls,
        "case_kpis": cases,
        "unit_scores": unit_scores_from_counts(events["unit"], policy),
        "agent_scores": agent_scores(monthly, calls["by_agent"]),
        "hot_topics": {
            "categories": hot_topics(
                counts["category", "now"], counts["category", "before"], most
            ),
            "areas": hot_topics(counts["area", "now"], counts["area", "before"], most),
        },
    }  # fmt: skip


async def drill_calls(
    engine: AsyncEngine,
    start: datetime,
    end: datetime,
    flt: ReportFilter,
    figure: str,
    params: KpiParams,
    limit: int = queries.DRILL_LIMIT,
) -> list[dict[str, Any]]:
    """The calls behind a call figure (queries.CALL_FIGURES) of [start, end)."""
    async with engine.connect() as connection:
        return await queries.call_keys(
            connection, start, end, figure, flt, thresholds(params), limit
        )


def _part(figure: Any, part: str) -> float:
    if isinstance(figure, int | float):
        return float(figure) if part != "shortfall" else 0.0
    figure = figure or {}
    if part == "shortfall":  # in the denominator, not the numerator: overdue, dissatisfied
        return float((figure.get("denominator") or 0) - (figure.get("numerator") or 0))
    return float(figure.get(part) or 0)


def cases_behind(
    histories: Iterable[Mapping[str, Any]], figure: str, part: str, holder: str | None
) -> list[int]:
    """The ids of the cases that count in a figure's numerator or denominator: each case's
    own figures (case_kpis of its history alone) say whether it adds to the total."""
    if figure not in CASE_FIGURES:
        raise ValueError(f"unknown case figure {figure!r}")
    if part not in PARTS:
        raise ValueError(f"part is one of {', '.join(PARTS)}")
    ids = []
    for case in histories:
        own = case_kpis([case["events"]])
        if holder is not None:
            unit = own["units"].get(holder)
            if unit is None:
                continue
            value = unit.get(figure) if figure != "cases" else 1
        else:
            value = case_totals(own, 1)[figure]
        if _part(value, part) > 0:
            ids.append(int(case["id"]))
    return ids


async def drill_cases(
    engine: AsyncEngine,
    start: datetime,
    end: datetime,
    flt: ReportFilter,
    figure: str,
    part: str = "numerator",
    holder: str | None = None,
    limit: int = queries.DRILL_LIMIT,
) -> list[dict[str, Any]]:
    """The cases behind a case figure: of the cases opened in [start, end) matching ``flt``,
    those in the figure's numerator or denominator (of one unit's figure with ``holder``)."""
    if figure not in CASE_FIGURES:
        raise ValueError(f"unknown case figure {figure!r}")
    async with engine.connect() as connection:
        # Counted by the database where it can; else from the histories (the definition).
        ids = await queries.case_ids(connection, start, end, figure, part, flt, holder, limit)
        if ids is None:
            histories = await queries.case_histories(connection, start, end, flt)
            ids = cases_behind(histories, figure, part, holder)[:limit]
        return await queries.case_keys(connection, ids)


def bucket(key: str, zone: Any) -> tuple[datetime, datetime]:
    """The [start, end) of a report's hour key (2026-11-23T10:00+08:00) or day key."""
    if "T" in key:
        start = datetime.fromisoformat(key)
        return start, start + timedelta(hours=1)
    first = datetime.fromisoformat(key).replace(tzinfo=zone)
    return first, datetime.combine(first.date() + timedelta(days=1), first.time(), zone)


# Drill-down lists read at once, each on its own connection: each is one database scan, so on
# a multi-core database host they overlap instead of queueing (bench/reports.py).
DRILL_CONCURRENCY: Final = 3


async def report_drills(
    engine: AsyncEngine,
    period: Period,
    flt: ReportFilter,
    params: KpiParams,
    role: str,
    limit: int = queries.DRILL_LIMIT,
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The calls and cases behind the figures someone has to chase (CALL_DRILLS,
    CASE_DRILLS), for the files' drill-down sheets; caller numbers as ``role`` may see them."""
    start, end = period.start, period.end
    gate = asyncio.Semaphore(DRILL_CONCURRENCY)

    async def calls(figure: str) -> list[dict[str, Any]]:
        async with gate, engine.connect() as connection:
            rows = await queries.call_keys(
                connection, start, end, figure, flt, thresholds(params), limit
            )
        return [_masked(row, role) for row in rows]

    async def cases(what: str) -> list[dict[str, Any]]:
        async with gate, engine.connect() as connection:
            ids = await queries.case_event_ids(connection, start, end, what, flt, limit=limit)
            rows = await queries.case_keys(connection, ids)
        return [_masked(row, role) for row in rows]

    lists = await asyncio.gather(
        *(calls(figure) for figure in CALL_DRILLS), *(cases(what) for what in CASE_DRILLS.values())
    )
    call_lists, case_lists = lists[: len(CALL_DRILLS)], lists[len(CALL_DRILLS) :]
    return {
        "calls": dict(zip(CALL_DRILLS.values(), call_lists, strict=True)),
        "cases": dict(zip(CASE_DRILLS, case_lists, strict=True)),
    }


def _masked(row: Mapping[str, Any], role: str) -> dict[str, Any]:
    return {**row, "caller_num": caller_number_for(row.get("caller_num"), role)}
