"""A test double of OUR LiveView protocol (hotline.web.wallboard.LiveView): plain data that
the tests change to see the wallboard follow."""

from __future__ import annotations

import time
from typing import Any

CALLER = "13800138001"
MASKED = "138****8001"


class FakeLive:
    def __init__(self) -> None:
        now = time.time()
        self.now = now
        self.answered = 41
        self.offered = 50
        self.fail: str | None = None
        self._agents: list[dict[str, Any]] = [
            {"pbx": "pbx1", "interface": "PJSIP/1001", "name": "王芳", "state": "talking",
             "reason": None, "since": now - 75, "queues": ["hotline-general"],
             "linkedid": "1732540000.2"},
            {"pbx": "pbx1", "interface": "PJSIP/1002", "name": "李强", "state": "ready",
             "reason": None, "since": now - 5, "queues": ["hotline-general"], "linkedid": None},
            {"pbx": "pbx1", "interface": "PJSIP/1003", "name": "赵敏", "state": "paused",
             "reason": "用餐", "since": now - 700,
             "queues": ["hotline-general", "hotline-complaint"], "linkedid": None},
            # No name of its own (MemberName = the interface): the wall must not show it raw.
            {"pbx": "pbx1", "interface": "Local/agent10@agent-robot/n",
             "name": "Local/agent10@agent-robot/n", "state": "ringing", "reason": None,
             "since": now - 2, "queues": ["hotline-general"], "linkedid": "1732540000.1"},
        ]  # fmt: skip
        self._day: dict[str, dict[str, dict[str, Any]]] = {"by_queue": {}, "by_hour": {}}
        self._queues: list[dict[str, Any]] = [
            {
                "name": "hotline-general",
                "label": "咨询 consultation",
                "waiting": [
                    {"caller": CALLER, "wait_s": 12, "priority": 5, "position": 1},
                    {"caller": "02584001234", "wait_s": 3, "priority": 0, "position": 2},
                ],
                "longest_wait_s": 12,
                "members": [
                    {"agent": "1001", "name": "王芳", "state": "talking", "since": now - 75},
                    {"agent": "1002", "name": "李强", "state": "idle", "since": now - 5},
                    {"agent": "1003", "name": "赵敏", "state": "paused", "reason": "午餐 lunch"},
                    {"agent": "1004", "state": "ringing", "since": now - 2},
                ],
            },
            {
                "name": "hotline-complaint",
                "label": "投诉 complaints",
                "waiting": [],
                "longest_wait_s": 0,
                "members": [{"agent": "2001", "name": "陈静", "state": "idle"}],
            },
        ]
        self._calls: list[dict[str, Any]] = [
            {
                "linkedid": "1732540000.1",
                "caller": CALLER,
                "stage": "queued",
                "since": now - 12,
                "queue": "hotline-general",
                "agent": None,
            },
            {
                "linkedid": "1732540000.2",
                "caller": "13912345678",
                "stage": "talking",
                "since": now - 75,
                "queue": "hotline-general",
                "agent": "1001",
            },
            {
                "linkedid": "1732540000.3",
                "caller": "8001",
                "stage": "ivr",
                "since": now - 4,
                "queue": None,
                "agent": None,
            },
        ]

    def queues(self) -> list[dict[str, Any]]:
        if self.fail == "queues":
            raise RuntimeError("queue state unavailable")
        return self._queues

    def calls(self) -> list[dict[str, Any]]:
        return self._calls

    def agents(self) -> list[dict[str, Any]]:
        return self._agents

    def day_figures(self) -> dict[str, dict[str, dict[str, Any]]]:
        return self._day

    def crowd(self, agents: int = 100, queues: int = 10) -> None:
        """A full wall: ``agents`` agents over ``queues`` queues, calls waiting in each, and
        figures for every hour so far (the kiosk layout test)."""
        states = ["ready", "talking", "talking", "ringing", "paused", "wrap_up"]
        # The three default queues (named in the settings) and others the PBX shows.
        defaults = ["hotline-general", "hotline-complaint", "hotline-report"]
        names = [*defaults, *(f"hotline-q{n}" for n in range(3, queues))][:queues]
        self._queues = [
            {"name": name, "waiting": [{"caller": CALLER, "wait_s": 40 - n, "priority": 0,
                                        "position": 1}] * (n % 4),
             "longest_wait_s": 40 - n if n % 4 else 0, "members": []}
            for n, name in enumerate(names)
        ]  # fmt: skip
        self._agents = [
            {"pbx": "pbx1", "interface": f"PJSIP/{2000 + n}", "name": f"座席员{n:03d}号",
             "state": states[n % len(states)], "reason": "培训" if n % 6 == 4 else None,
             "since": self.now - 30 * n, "queues": [names[n % queues], names[(n + 3) % queues]],
             "linkedid": f"1732540000.{n}" if states[n % len(states)] == "talking" else None}
            for n in range(agents)
        ]  # fmt: skip

        def figures(offered: int, answered: int, within: int) -> dict[str, Any]:
            return {"offered": {"value": offered}, "answered": {"value": answered},
                    "abandoned": {"value": offered - answered},
                    "answer_timeliness": {"value": within / answered if answered else None},
                    "connect_rate": {"value": answered / offered if offered else None}}  # fmt: skip

        self._day = {
            "by_queue": {name: figures(50 + n, 45 + n, 36 + n) for n, name in enumerate(names)},
            "by_hour": {f"2026-11-25T{h:02d}:00+08:00": figures(20 * h, 18 * h, 15 * h)
                        for h in range(8, 18)},
        }  # fmt: skip

    def kpis(self) -> dict[str, dict[str, Any]]:
        rate = self.answered / self.offered
        within = self.answered - 3
        return {
            "offered": {"value": self.offered},
            "answered": {"value": self.answered},
            "abandoned": {"value": self.offered - self.answered},
            "answer_timeliness": {
                "value": within / self.answered,
                "numerator": within,
                "denominator": self.answered,
                "formula": "answered ≤ 15 s ÷ answered",
                "target": 0.8,
                "meets_target": within / self.answered >= 0.8,
            },
            # A figure the wallboard has no label of its own for: the engine's labels count.
            "short_abandons": {
                "value": 2,
                "label_zh": "未接秒挂",
                "label_en": "short abandons",
                "unit": "count",
            },
            "connect_rate": {
                "value": rate,
                "numerator": self.answered,
                "denominator": self.offered,
                "formula": "answered ÷ offered",
                "target": 0.95,
                "meets_target": rate >= 0.95,
            },
        }
