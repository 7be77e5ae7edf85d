"""What the wallboard shows: one JSON snapshot built from the live view, numbers masked.

The live view (``LiveView``) is whatever knows the current queues, calls and today's KPIs
(the ACD's live state and KPI engine, wired in ``hotline/service.py``). It returns plain
JSON-able dicts in the shapes documented on each method; keys it does not know may be left
out, and the page shows "—" for them.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

from hotline.web.wall_picture import WallConfig, wall_picture, wall_status

log = logging.getLogger(__name__)


class LiveView(Protocol):
    def queues(self) -> list[dict[str, Any]]:
        """One dict per queue::

        {"name": "consult", "label": "咨询 consultation",       # label optional
         "waiting": [{"caller": "13800138001", "wait_s": 12, "priority": 5,
                      "position": 1}],                            # longest waiting first
         "longest_wait_s": 12,
         "members": [{"agent": "1001", "name": "王芳",
                      "state": "idle" | "ringing" | "talking" | "paused",
                      "reason": "lunch" | None, "since": 1732540000.0}]}
        """
        ...

    def calls(self) -> list[dict[str, Any]]:
        """Calls in flight::

        {"linkedid": "1732540000.12", "caller": "13800138001",
         "stage": "ivr" | "queued" | "ringing" | "talking", "since": 1732540000.0,
         "queue": "consult" | None, "agent": "1001" | None}
        """
        ...

    def kpis(self) -> dict[str, dict[str, Any]]:
        """Today's figures by name (see ``KPI_LABELS`` for the names the page knows)::

        {"answer_timeliness": {"value": 0.82, "numerator": 41, "denominator": 50,
                               "formula": "answered ≤ 15 s ÷ answered",
                               "target": 0.8, "meets_target": True,
                               "unit": "ratio"}}                # ratio | s | count
        ``value`` is None when the denominator is 0; ``target``/``meets_target`` are None
        for figures without a target. An optional ``target_op`` is ">=" or "<=".
        """
        ...

    def agents(self) -> list[dict[str, Any]]:
        """Every agent signed in to a queue, once::

        {"pbx": "pbx1", "interface": "PJSIP/1001", "name": "王芳",     # name: MemberName
         "state": "ready" | "ringing" | "talking" | "wrap_up" | "paused",
         "reason": "用餐" | None, "since": 1732540000.0, "queues": ["hotline-general"],
         "linkedid": "1732540000.12" | None}                          # the call it is on
        """
        ...

    def day_figures(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Today's figures ``{"by_queue": {queue: kpis}, "by_hour": {iso hour: kpis}}``,
        each ``kpis`` in the shape of ``kpis()``."""
        ...


# name: (Chinese label, English label, unit, comparison with the target)
KPI_LABELS: dict[str, tuple[str, str, str, str]] = {
    "answer_timeliness": ("15秒接通率", "answer ≤ 15 s", "ratio", ">="),
    "connect_rate": ("人工接通率", "human connect rate", "ratio", ">="),
    "abandon_rate": ("放弃率", "abandon rate", "ratio", "<="),
    "offered": ("呼入量", "offered to agents", "count", ">="),
    "answered": ("人工接通", "answered", "count", ">="),
    "abandoned": ("放弃", "abandoned", "count", "<="),
    "asa": ("平均应答时长", "average speed of answer", "s", "<="),
    "aht": ("平均处理时长", "average handling time", "s", "<="),
    "longest_wait": ("最长等待", "longest wait", "s", "<="),
    "satisfaction": ("满意率", "satisfaction", "ratio", ">="),
    "complaint_rate": ("投诉率", "complaint rate", "ratio", "<="),
}

STAGES = ("ivr", "queued", "ringing", "talking")

# Keys whose values identify a caller. Matching is on the lower-cased key.
_CALLER_KEY = re.compile(r"caller|phone|number|mobile|^cid|_num$|^num$|connectedline")


def mask_number(value: str) -> str:
    """``"13800138001"`` → ``"138****8001"``; shorter numbers show at most their last 4."""
    text = value.strip()
    sign = "+" if text.startswith("+") else ""
    digits = text[len(sign) :]
    if not digits.isdigit():
        # A name or an odd caller ID: keep the first character only.
        return text[:1] + "*" * max(len(text) - 1, 1) if text else text
    if len(digits) >= 11:  # mobile 138****8001, landline with area code, +86…
        return f"{sign}{digits[:-8]}****{digits[-4:]}"
    if len(digits) >= 7:
        return sign + "*" * (len(digits) - 4) + digits[-4:]
    return sign + "*" * max(len(digits) - 2, 1) + digits[-2:]


def mask_callers(data: Any) -> Any:
    """A copy of ``data`` with every caller-identifying value masked, at any depth."""
    if isinstance(data, dict):
        return {
            key: _mask_value(value) if _CALLER_KEY.search(str(key).lower()) else mask_callers(value)
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [mask_callers(item) for item in data]
    return data


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_number(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return mask_number(str(value))
    # Under a caller key everything identifies the caller, whatever its own key says.
    if isinstance(value, dict):
        return {key: _mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(item) for item in value]
    return value


def _with_duration(items: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    # "for_s" is computed here, on the server's clock, so a wall screen with a wrong clock
    # still shows true durations.
    out = []
    for item in items:
        item = dict(item)
        since = item.get("since")
        if isinstance(since, int | float) and not isinstance(since, bool):
            item["for_s"] = max(0, round(now - since))
        if isinstance(item.get("members"), list):
            item["members"] = _with_duration(item["members"], now)
        out.append(item)
    return out


def _labelled_kpis(kpis: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    # The big-screen figures first, in KPI_LABELS order; the engine's other figures after
    # them, marked minor, so the wall stays readable however many figures the engine has.
    known = [name for name in KPI_LABELS if name in kpis]
    names = known + [name for name in kpis if name not in KPI_LABELS]
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        zh, en, unit, op = KPI_LABELS.get(name, ("", name, "count", ">="))
        out[name] = {
            "label_zh": zh,
            "label_en": en,
            "unit": unit,
            "target_op": op,
            "target": None,
            "meets_target": None,
            **kpis[name],
            "primary": name in KPI_LABELS,
        }
    return out


def _summary(calls: list[dict[str, Any]]) -> dict[str, Any]:
    by_stage = {stage: 0 for stage in STAGES}
    for call in calls:
        stage = call.get("stage")
        if isinstance(stage, str):
            by_stage[stage] = by_stage.get(stage, 0) + 1
    return {"in_flight": len(calls), "by_stage": by_stage}


def build_snapshot(
    live: LiveView,
    now: Callable[[], float] = time.time,
    *,
    health: Callable[[], dict[str, Any]] | None = None,
    wall: WallConfig | None = None,
    needed_now: Callable[[], int | None] | None = None,
) -> dict[str, Any]:
    """Everything the wallboard shows, masked. A failing part is reported, not fatal.

    ``health`` is the service's health board: a source that is down (an AMI link, the
    database) turns the wall's status from live to stale.
    """
    errors: dict[str, str] = {}

    def part(name: str, read: Callable[[], Any], empty: Any) -> Any:
        try:
            return read()
        except Exception as error:
            log.exception("wallboard: live view failed to give %s", name)
            errors[name] = f"{type(error).__name__}: {error}"
            return empty

    at = now()
    queues = part("queues", live.queues, [])
    calls = part("calls", live.calls, [])
    kpis = part("kpis", live.kpis, {})
    agents = part("agents", live.agents, [])
    day = part("day", live.day_figures, {})
    components: dict[str, Any] | None = {}
    if health is not None:
        try:
            components = health()
        except Exception:
            log.exception("wallboard: the health board failed")
            components = None
    config = wall or WallConfig()
    status = wall_status(components, errors, config.stale_after_s)
    needed = part("staffing", needed_now, None) if needed_now is not None else None
    picture = wall_picture(
        queues=queues,
        agents=agents,
        kpis=kpis,
        day=day,
        status=status,
        now=at,
        config=config,
        needed_now=needed,
    )
    snapshot = {
        "at": at,
        "queues": mask_callers(_with_duration(queues, at)),
        "calls": mask_callers(_with_duration(calls, at)),
        "kpis": _labelled_kpis(kpis),
        "summary": _summary(calls),
        "errors": errors,
        "wall": mask_callers(picture),
    }
    return snapshot
