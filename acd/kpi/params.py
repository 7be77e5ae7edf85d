"""The parameters of the call KPIs: thresholds and targets (a policy, never constants in code).

Mirrors ``hotline.settings.KpiSettings`` field for field (``acd`` may not import ``hotline``),
plus two knobs the settings do not carry yet: the wrap-up time counted into AHT, and whether
short abandons leave the connect-rate denominator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True, slots=True)
class KpiParams:
    # A call answered after exactly this many seconds of queue wait still counts as timely.
    answer_threshold_s: int = 15
    timeliness_target: float = 0.80
    connect_target: float = 0.95
    # An abandon after at most this many seconds of wait is a short abandon (未接秒挂);
    # 0 switches short abandons off.
    short_abandon_s: int = 5
    timezone: str = "Asia/Shanghai"
    # Seconds of after-call work added to every agent handling for AHT.
    wrap_up_s: float = 0.0
    # Connect rate is answered ÷ offered; True leaves 未接秒挂 callers out of "offered".
    connect_excludes_short_abandons: bool = False

    def __post_init__(self) -> None:
        if self.answer_threshold_s < 1:
            raise ValueError("answer_threshold_s must be at least 1")
        if self.short_abandon_s < 0:
            raise ValueError("short_abandon_s must not be negative")
        if self.wrap_up_s < 0:
            raise ValueError("wrap_up_s must not be negative")
        for name in ("timeliness_target", "connect_target"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        try:
            self.zone()  # an unknown timezone fails here, not in the middle of a report
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown timezone {self.timezone!r}") from error

    @classmethod
    def from_settings(cls, settings: Any, **extra: Any) -> KpiParams:
        """Build from any object with KpiSettings' attributes (e.g. ``settings.kpi``)."""
        return cls(
            answer_threshold_s=settings.answer_threshold_s,
            timeliness_target=settings.timeliness_target,
            connect_target=settings.connect_target,
            short_abandon_s=settings.short_abandon_s,
            **{
                name: getattr(settings, name)
                for name in ("timezone", "wrap_up_s", "connect_excludes_short_abandons")
                # None: not set there (the site's timezone comes as an extra, or the default)
                if getattr(settings, name, None) is not None and name not in extra
            },
            **extra,
        )

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_short_abandon(self, wait_s: float) -> bool:
        return self.short_abandon_s > 0 and wait_s <= self.short_abandon_s

    def to_json(self) -> dict[str, Any]:
        return {
            "answer_threshold_s": self.answer_threshold_s,
            "timeliness_target": self.timeliness_target,
            "connect_target": self.connect_target,
            "short_abandon_s": self.short_abandon_s,
            "timezone": self.timezone,
            "wrap_up_s": self.wrap_up_s,
            "connect_excludes_short_abandons": self.connect_excludes_short_abandons,
        }
