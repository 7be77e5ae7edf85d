"""The wall screen's picture: headline tiles, one row per queue, one agent board (each agent
once, whatever queues it sits in), today's trend per hour, every figure coloured by the
thresholds of the settings and named by display names — raw interfaces and queue ids never
reach the page — and a status that says whether any of it can be believed.

Pure: the live view's answers, the health board's answer and the clock come in; a JSON-able
dict goes out (``wall`` in the wallboard snapshot).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# (amber, red): red beyond amber upwards means higher is worse, else lower is worse.
Threshold = tuple[float, float]

DEFAULT_THRESHOLDS: dict[str, Threshold] = {
    "answer_timeliness": (0.85, 0.80),
    "connect_rate": (0.97, 0.95),
    "abandon_rate": (0.03, 0.05),
    "waiting": (3, 10),
    "longest_wait_s": (15, 30),
    "paused_s": (600, 1800),
    "wrap_up_s": (60, 180),
    "talking_s": (600, 1200),
}

# The health components whose failure makes the wall's figures untrue: the PBXs' AMI links
# (live queues, agents and calls), the database (today's figures, stored calls) and the bus
# (the pushes themselves).
_SOURCES = re.compile(r"^(ami(\..+)?|database|bus)$")

_STATE_SECONDS = {"paused": "paused_s", "wrap_up": "wrap_up_s", "talking": "talking_s"}


@dataclass(frozen=True, slots=True)
class WallConfig:
    """What the settings say about the wall screen (hotline.settings.WallboardSettings)."""

    stale_after_s: float = 10.0
    thresholds: Mapping[str, Threshold] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    # queue id → display name, in the order the queues are configured
    queue_names: Mapping[str, str] = field(default_factory=dict)
    # interface, its user part ("agent10", "1001") or MemberName → display name
    agent_names: Mapping[str, str] = field(default_factory=dict)


def level(value: float | None, threshold: Threshold | None) -> str | None:
    """``"ok"``, ``"amber"`` or ``"red"`` for ``value`` (None when there is nothing to judge)."""
    if value is None or threshold is None:
        return None
    amber, red = threshold
    if red >= amber:  # higher is worse: waits, abandon rate
        return "red" if value >= red else "amber" if value >= amber else "ok"
    # lower is worse: a rate exactly on its red line still meets a "≥ target" rule
    return "red" if value < red else "amber" if value < amber else "ok"


# ---- names -----------------------------------------------------------------------------------

_USER_PART = re.compile(r"^[^/]+/([^@/;-]+)")
_DIGITS = re.compile(r"(\d+)$")


def _user_part(interface: str) -> str:
    """``Local/agent10@agent-robot/n`` → ``agent10``; ``PJSIP/1001`` → ``1001``."""
    found = _USER_PART.match(interface)
    return found.group(1) if found else interface


def _looks_raw(name: str) -> bool:
    return not name.strip() or "/" in name or "@" in name


class DisplayNames:
    def __init__(self, config: WallConfig) -> None:
        self._queues = dict(config.queue_names)
        self._agents = dict(config.agent_names)
        self._order = {queue: n for n, queue in enumerate(config.queue_names, start=1)}

    def queue_order(self, seen: Iterable[str]) -> list[str]:
        """The configured queues first, in their order, then any other the PBX showed."""
        names = dict.fromkeys(self._order)
        for queue in seen:
            names.setdefault(queue)
        for queue in names:
            self._order.setdefault(queue, len(self._order) + 1)
        return list(names)

    def queue(self, queue: str) -> str:
        name = self._queues.get(queue)
        if name:
            return name
        number = self._order.setdefault(queue, len(self._order) + 1)
        return f"队列 {number}"  # an unnamed queue still never shows its id

    def agent(self, interface: str, member_name: str | None) -> str:
        user = _user_part(interface)
        for key in (interface, user, member_name):
            if key and self._agents.get(key):
                return self._agents[key]
        if member_name and member_name != interface and not _looks_raw(member_name):
            return member_name
        digits = _DIGITS.search(user)
        return f"座席 {digits.group(1) if digits else user}"


# ---- status ----------------------------------------------------------------------------------

_PROBLEM_TEXT = {
    "ami": ("与电话交换机的连接中断", "PBX (AMI) link down"),
    "database": ("数据库不可用", "database down"),
    "bus": ("内部消息总线异常", "event bus failing"),
}


def wall_status(
    components: Mapping[str, Any] | None, errors: Mapping[str, str], stale_after_s: float
) -> dict[str, Any]:
    """Whether the figures can be believed: ``live`` only when every source is healthy and
    every part of the live view answered. ``components`` None: the health board failed."""
    problems: list[dict[str, str]] = []
    if components is None:
        problems.append({"component": "health", "zh": "无法检查系统状态", "en": "health unknown"})
    for name, info in (components or {}).items():
        if not _SOURCES.match(name):
            continue
        if isinstance(info, Mapping) and info.get("ok") is True:
            continue
        kind, _, pbx = name.partition(".")
        zh, en = _PROBLEM_TEXT[kind]
        if pbx:
            zh, en = f"{zh} ({pbx})", f"{en} ({pbx})"
        problems.append({"component": name, "zh": zh, "en": en})
    for part in errors:
        problems.append({"component": part, "zh": "实时数据读取失败", "en": f"live {part} failed"})
    return {"live": not problems, "problems": problems, "stale_after_s": stale_after_s}


# ---- figures ---------------------------------------------------------------------------------


def _value(kpis: Mapping[str, Any], name: str) -> float | None:
    figure = kpis.get(name)
    value = figure.get("value") if isinstance(figure, Mapping) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _kpi_tile(
    kpis: Mapping[str, Any], name: str, zh: str, en: str, op: str, config: WallConfig
) -> dict[str, Any]:
    found = kpis.get(name)
    figure: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    value = _value(kpis, name)
    return {
        "name": name,
        "label_zh": zh,
        "label_en": en,
        "unit": "ratio",
        "value": value,
        "target": figure.get("target"),
        "target_op": op,
        "numerator": figure.get("numerator"),
        "denominator": figure.get("denominator"),
        "formula": figure.get("formula"),
        "level": level(value, config.thresholds.get(name)),
    }


def _tiles(
    kpis: Mapping[str, Any], rows: list[dict[str, Any]], config: WallConfig
) -> list[dict[str, Any]]:
    waiting = sum(int(row["waiting"]) for row in rows)
    longest = max((int(row["longest_wait_s"]) for row in rows), default=0)
    return [
        _kpi_tile(kpis, "answer_timeliness", "15秒接通率", "answered ≤ 15 s", ">=", config),
        _kpi_tile(kpis, "connect_rate", "人工接通率", "connect rate", ">=", config),
        {
            "name": "waiting",
            "label_zh": "排队等待",
            "label_en": "waiting now",
            "unit": "count",
            "value": waiting,
            "level": level(waiting, config.thresholds.get("waiting")),
        },
        {
            "name": "longest_wait",
            "label_zh": "最长等待",
            "label_en": "longest wait",
            "unit": "s",
            "value": longest,
            "level": level(longest, config.thresholds.get("longest_wait_s")),
        },
        _kpi_tile(kpis, "abandon_rate", "放弃率", "abandon rate", "<=", config),
    ]


def _agents(
    agents: list[dict[str, Any]], names: DisplayNames, now: float, config: WallConfig
) -> list[dict[str, Any]]:
    out = []
    for agent in agents:
        since = agent.get("since")
        for_s = max(0, round(now - since)) if isinstance(since, int | float) and since else None
        state = str(agent.get("state") or "")
        key = _STATE_SECONDS.get(state)
        out.append(
            {
                # The spy buttons name the agent by this; it is never shown.
                "id": f"{agent.get('pbx', '')}|{agent.get('interface', '')}",
                "name": names.agent(str(agent.get("interface") or ""), agent.get("name")),
                "state": state,
                "reason": agent.get("reason") if state in ("paused", "wrap_up") else None,
                "for_s": for_s,
                "level": level(for_s, config.thresholds.get(key)) if key else None,
                "in_call": bool(agent.get("linkedid")) and state == "talking",
            }
        )
    out.sort(key=lambda a: (a["name"], a["id"]))
    return out


def _queue_rows(
    queues: list[dict[str, Any]],
    agents: list[dict[str, Any]],
    by_queue: Mapping[str, Mapping[str, Any]],
    names: DisplayNames,
    config: WallConfig,
) -> list[dict[str, Any]]:
    live = {str(q.get("name")): q for q in queues}
    order = names.queue_order([*live, *(q for a in agents for q in a.get("queues") or [])])
    rows = []
    for queue in order:
        q = live.get(queue, {})
        # Ringing is its own count: a ringing agent is neither free nor yet talking, and a
        # supervisor reads "many ringing, few talking" as callers not being picked up.
        counts = {"ready": 0, "ringing": 0, "talking": 0, "paused": 0, "wrap_up": 0}
        for agent in agents:
            if queue in (agent.get("queues") or []):
                state = agent.get("state")
                if state in counts:
                    counts[state] += 1
        waiting = len(q.get("waiting") or [])
        longest = int(q.get("longest_wait_s") or 0)
        figures = by_queue.get(queue, {})
        timeliness, connect = _value(figures, "answer_timeliness"), _value(figures, "connect_rate")
        rows.append(
            {
                "name": names.queue(queue),
                "waiting": waiting,
                "waiting_level": level(waiting, config.thresholds.get("waiting")),
                "longest_wait_s": longest,
                "longest_level": level(longest, config.thresholds.get("longest_wait_s")),
                **counts,
                "answer_timeliness": timeliness,
                "answer_timeliness_level": level(
                    timeliness, config.thresholds.get("answer_timeliness")
                ),
                "connect_rate": connect,
                "connect_rate_level": level(connect, config.thresholds.get("connect_rate")),
            }
        )
    return rows


def _trend(by_hour: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Today's 24 local hours: offered, answered, abandoned and the 15-s rate of each."""
    hours: list[dict[str, Any]] = [
        {"hour": h, "offered": 0, "answered": 0, "abandoned": 0, "answer_timeliness": None}
        for h in range(24)
    ]
    for key, figures in by_hour.items():
        try:
            hour = datetime.fromisoformat(key).hour
        except ValueError:
            continue
        row = hours[hour]
        for name in ("offered", "answered", "abandoned"):
            row[name] += int(_value(figures, name) or 0)
        row["answer_timeliness"] = _value(figures, "answer_timeliness")
    return hours


def _staffing_tile(board: list[dict[str, Any]], needed: int | None) -> dict[str, Any]:
    """Agents logged in now against the Erlang C planner's need for this half hour: red
    when fewer are logged in, amber when enough are logged in but too many paused."""
    logged_in = len(board)
    available = sum(1 for a in board if a["state"] != "paused")
    state = None
    if needed is not None:
        state = "red" if logged_in < needed else "amber" if available < needed else "ok"
    return {
        "name": "staffing",
        "label_zh": "在线 / 需要座席",
        "label_en": "logged in / needed",
        "unit": "count",
        "value": logged_in,
        "needed": needed,
        "available": available,
        "formula": "needed: Erlang C for this half hour's forecast (staffing target)",
        "level": state,
    }


def wall_picture(
    *,
    queues: list[dict[str, Any]],
    agents: list[dict[str, Any]],
    kpis: Mapping[str, Any],
    day: Mapping[str, Mapping[str, Mapping[str, Any]]],
    status: dict[str, Any],
    now: float,
    config: WallConfig,
    needed_now: int | None = None,
) -> dict[str, Any]:
    names = DisplayNames(config)
    rows = _queue_rows(queues, agents, day.get("by_queue", {}), names, config)
    board = _agents(agents, names, now, config)
    return {
        "status": status,
        "tiles": [*_tiles(kpis, rows, config), _staffing_tile(board, needed_now)],
        "queues": rows,
        "agents": board,
        "agent_counts": {
            state: sum(1 for a in board if a["state"] == state)
            for state in ("ready", "ringing", "talking", "wrap_up", "paused")
        },
        "trend": _trend(day.get("by_hour", {})),
    }
