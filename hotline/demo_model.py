"""The demo's traffic: a realistic busy hour for a small hotline, sized by two numbers."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hotline.sim.traffic import AgentProfile, Burst, TrafficModel

GENERAL, COMPLAINT, REPORT = "hotline-general", "hotline-complaint", "hotline-report"


def demo_agents(count: int) -> list[AgentProfile]:
    """Most agents take general calls; every third also takes complaints, every fifth reports.

    A small team still covers every queue: agent 1 is on all three.
    """
    agents = []
    for n in range(1, count + 1):
        queues = [GENERAL]
        if n % 3 == 0 or n == 1:
            queues.append(COMPLAINT)
        if n % 5 == 0 or n == 1:
            queues.append(REPORT)
        agents.append(AgentProfile(n, queues, ring_min=2.0, ring_max=9.0, talk_mean=150.0))
    return agents


def busy_hour_start(timezone: str, hour: int = 9) -> float:
    """Today's busy hour in the hotline's own timezone (epoch seconds)."""
    zone = ZoneInfo(timezone)
    today = datetime.now(zone).replace(hour=hour, minute=0, second=0, microsecond=0)
    if today > datetime.now(zone) + timedelta(hours=12):
        today -= timedelta(days=1)
    return today.timestamp()


def demo_model(calls_per_hour: float, agents: int, bursts: tuple[Burst, ...] = ()) -> TrafficModel:
    """A flat rate for the simulated hour: the busy hour itself, not a whole day's profile;
    ``bursts``: outage bursts on top (early warning)."""
    return TrafficModel(
        peak_calls_per_hour=calls_per_hour,
        hourly_profile=(1.0,) * 24,
        agents=demo_agents(agents),
        bursts=list(bursts),
    )
