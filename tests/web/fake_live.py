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
        self.answered = 41
        self.offered = 50
        self.fail: str | None = None
        self._queues: list[dict[str, Any]] = [
            {
                "name": "consult",
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
                "name": "complaint",
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
                "queue": "consult",
                "agent": None,
            },
            {
                "linkedid": "1732540000.2",
                "caller": "13912345678",
                "stage": "talking",
                "since": now - 75,
                "queue": "consult",
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
