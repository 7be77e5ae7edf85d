"""The figures: each value travels with its formula, numerator, denominator and target.

Definitions (domain.md, KPI section):
- offered: reached a queue and asked for an agent — answered, abandoned, timed out, or
  rejected at join (joinempty). A join rejection is offered: leaving it out would let a
  hotline raise its connect rate by logging every agent out.
- answered: an agent picked up (a leg an agent answered and then transferred is answered).
- answer timeliness 人工应答及时率: answered with queue wait ≤ threshold ÷ answered; a wait of
  exactly the threshold is timely.
- connect rate 人工接通率: answered ÷ offered, less short abandons (未接秒挂) when the policy
  says so.
- abandon rate: (abandoned − short abandons) ÷ offered.
- ASA: Σ queue wait of answered ÷ answered. AHT: Σ(talk + wrap-up) over agent handlings ÷
  answered. Longest wait: max queue wait of offered.
- satisfaction 满意率: (satisfied + basically satisfied) ÷ rated, from the post-call survey;
  rated = answers other than "none" (heard the survey, pressed nothing), which are counted
  apart. Hotline-wide a call's answer counts once; per queue and per agent it counts on every
  leg an agent answered (the caller rates the whole call).
- deflected 重大故障并单: calls whose caller was merged into a major-fault incident.
A rate whose denominator is 0 has the value None, never 0 % or 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from acd.kpi.params import KpiParams
from acd.kpi.tally import Tally

Scope = Literal["calls", "legs", "agent"]


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    label_en: str
    label_zh: str
    value: float | None
    numerator: float | None
    denominator: float | None
    formula: str
    unit: str  # "count", "ratio" (a fraction, 0..1) or "s"
    target: float | None = None
    meets_target: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label_en": self.label_en,
            "label_zh": self.label_zh,
            "value": self.value,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "formula": self.formula,
            "unit": self.unit,
            "target": self.target,
            "meets_target": self.meets_target,
        }


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _meets(value: float | None, target: float | None) -> bool | None:
    if value is None or target is None:
        return None
    return value >= target


class _Builder:
    def __init__(self, tally: Tally, params: KpiParams, scope: Scope) -> None:
        self.t = tally
        self.p = params
        self.noun = "legs" if scope == "legs" else "calls"
        self.out: dict[str, Figure] = {}

    def count(self, name: str, label: str, label_zh: str, value: int, formula: str) -> None:
        self.out[name] = Figure(name, label, label_zh, value, value, None, formula, "count")

    def rate(
        self,
        name: str,
        label: str,
        label_zh: str,
        numerator: float,
        denominator: float,
        formula: str,
        target: float | None = None,
    ) -> None:
        value = _ratio(numerator, denominator)
        self.out[name] = Figure(
            name,
            label,
            label_zh,
            value,
            numerator,
            denominator,
            formula,
            "ratio",
            target,
            _meets(value, target),
        )

    def seconds(
        self, name: str, label: str, label_zh: str, total: float, n: float, formula: str
    ) -> None:
        self.out[name] = Figure(name, label, label_zh, _ratio(total, n), total, n, formula, "s")


def _volume(b: _Builder) -> None:
    t, p, u = b.t, b.p, b.noun
    b.count(
        "offered",
        "offered to agents",
        "进入人工队列",
        t.offered,
        f"{u} that reached a queue: answered + abandoned + timed out + rejected at join",
    )
    b.count(
        "answered",
        "answered",
        "人工接通",
        t.answered,
        f"{u} an agent answered (incl. answered then transferred)",
    )
    b.count(
        "answered_within",
        f"answered within {p.answer_threshold_s} s",
        f"{p.answer_threshold_s}秒内接通",
        t.answered_within,
        f"answered with queue wait ≤ {p.answer_threshold_s} s",
    )


def _answer_quality(b: _Builder) -> None:
    t, p = b.t, b.p
    b.rate(
        "answer_timeliness",
        "answer timeliness",
        "人工应答及时率",
        t.answered_within,
        t.answered,
        f"answered ≤ {p.answer_threshold_s} s ÷ answered",
        p.timeliness_target,
    )


def _losses(b: _Builder) -> None:
    t, p, u = b.t, b.p, b.noun
    if p.connect_excludes_short_abandons:
        b.rate(
            "connect_rate",
            "human connect rate",
            "人工接通率",
            t.answered,
            t.offered - t.short_abandons,
            "answered ÷ (offered − short abandons)",
            p.connect_target,
        )
    else:
        b.rate(
            "connect_rate",
            "human connect rate",
            "人工接通率",
            t.answered,
            t.offered,
            "answered ÷ offered",
            p.connect_target,
        )
    b.count(
        "abandoned",
        "abandoned in queue",
        "排队放弃",
        t.abandoned,
        f"{u} whose caller hung up while waiting in queue (incl. short abandons)",
    )
    b.count(
        "short_abandons",
        "short abandons",
        "未接秒挂",
        t.short_abandons,
        f"abandoned with queue wait ≤ {p.short_abandon_s} s"
        if p.short_abandon_s
        else "switched off (short_abandon_s = 0)",
    )
    b.rate(
        "abandon_rate",
        "abandon rate",
        "放弃率",
        t.abandoned - t.short_abandons,
        t.offered,
        "(abandoned − short abandons) ÷ offered",
    )
    b.count(
        "timeouts",
        "queue timeouts",
        "排队超时",
        t.timeouts,
        f"{u} that left the queue at its wait limit (EXITWITHTIMEOUT)",
    )
    b.count(
        "join_rejections",
        "rejected at join",
        "拒绝入队",
        t.join_rejections,
        f"{u} refused by a queue with no agents (JOINEMPTY)",
    )


def _times(b: _Builder, wait_of: str) -> None:
    t, p = b.t, b.p
    b.count(
        "transfers",
        "transferred",
        "转接",
        t.transfers,
        "legs an agent answered and moved to another queue",
    )
    b.seconds(
        "asa",
        "average speed of answer",
        "平均应答时长",
        t.answered_wait_s,
        t.answered,
        "Σ queue wait of answered ÷ answered",
    )
    wrap = f"{p.wrap_up_s:g} s wrap-up"
    b.seconds(
        "aht",
        "average handle time",
        "平均处理时长",
        t.talk_s + p.wrap_up_s * t.handlings,
        t.answered,
        f"Σ(talk + {wrap}) over agent handlings ÷ answered",
    )
    longest = t.longest_wait_s
    b.out["longest_wait"] = Figure(
        "longest_wait",
        "longest wait",
        "最长等待",
        longest,
        longest,
        None,
        f"max queue wait of {wait_of}",
        "s",
    )


def _satisfaction(b: _Builder) -> None:
    t = b.t
    b.rate(
        "satisfaction",
        "caller satisfaction",
        "满意率",
        t.satisfied + t.basically_satisfied,
        t.rated,
        "(satisfied + basically satisfied) ÷ rated surveys",
    )
    b.count(
        "surveys_rated",
        "surveys rated",
        "参评数",
        t.rated,
        "post-call surveys answered satisfied, basically satisfied or dissatisfied",
    )
    b.count(
        "dissatisfied",
        "dissatisfied",
        "不满意",
        t.dissatisfied,
        "post-call surveys answered dissatisfied",
    )
    b.count(
        "surveys_unrated",
        "surveys without a rating",
        "未评价",
        t.survey_none,
        "post-call surveys heard without a rating (not in the satisfaction rate)",
    )


def _deflected(b: _Builder) -> None:
    b.count(
        "deflected",
        "deflected to an incident",
        "重大故障并单",
        b.t.deflected,
        f"{b.noun} whose caller was merged into a major-fault incident report",
    )


def figures(tally: Tally, params: KpiParams, scope: Scope = "calls") -> dict[str, Figure]:
    """The figures of one bucket, keyed by name, in display order."""
    b = _Builder(tally, params, scope)
    if scope == "agent":
        b.noun = "legs"
        _volume_agent(b)
        _answer_quality(b)
        _times(b, "the legs this agent answered")
        b.count(
            "ring_no_answer",
            "rang, not answered",
            "振铃未接",
            tally.ring_no_answer,
            "rings this agent let time out (RINGNOANSWER)",
        )
        _satisfaction(b)
        return b.out
    _volume(b)
    _answer_quality(b)
    _losses(b)
    if scope == "calls":
        b.count(
            "ivr_hangups",
            "hung up in the IVR",
            "IVR挂机",
            tally.ivr_hangups,
            "calls that ended in the voice menu before reaching a queue",
        )
    _times(b, f"offered {b.noun}")
    b.count(
        "ring_no_answer",
        "rang, not answered",
        "振铃未接",
        tally.ring_no_answer,
        "agent rings that timed out (RINGNOANSWER)",
    )
    _satisfaction(b)
    _deflected(b)
    return b.out


def _volume_agent(b: _Builder) -> None:
    t, p = b.t, b.p
    b.count("answered", "answered", "人工接通", t.answered, "legs this agent answered")
    b.count(
        "answered_within",
        f"answered within {p.answer_threshold_s} s",
        f"{p.answer_threshold_s}秒内接通",
        t.answered_within,
        f"answered with queue wait ≤ {p.answer_threshold_s} s",
    )


FigureSet = dict[str, Figure]


def figures_json(figure_set: FigureSet) -> dict[str, dict[str, Any]]:
    return {name: figure.to_json() for name, figure in figure_set.items()}
