"""Erlang C: how many agents a period's calls need to meet a service-level target.

Pure arithmetic, no I/O. The model (M/M/N, no abandons, unlimited queue) with offered load
``A = calls × AHT ÷ period`` Erlangs and ``N`` agents:

- Erlang B by its recurrence ``B(0) = 1, B(n) = A·B(n−1) ÷ (n + A·B(n−1))``: every term lies
  in [0, 1], no factorial or power of ``A`` is ever formed, so 1,000 Erlangs and 1,100 agents
  compute as easily as 10 (the textbook sum ``A^N / N!`` overflows a float past N ≈ 170);
- Erlang C, the chance a call waits: ``C = N·B ÷ (N − A·(1 − B))`` for ``N > A``; with
  ``N ≤ A`` the queue grows without end (C = 1, service level 0, ASA infinite);
- service level within ``t`` seconds: ``SL = 1 − C·e^(−(N − A)·t ÷ AHT)``;
- average speed of answer: ``ASA = C·AHT ÷ (N − A)``; occupancy ``A ÷ N``.

``agents_needed`` walks N up from the smallest stable count, one recurrence step per agent,
until the target (and the occupancy cap, if any) is met.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# No hotline seats this many agents on one queue (the largest 12345 centres seat hundreds):
# a bound on the search and its cost, not a policy.
MAX_AGENTS = 20_000


@dataclass(frozen=True, slots=True)
class Staffing:
    """What ``agents`` agents give for a period's traffic."""

    agents: int
    load: float  # offered traffic, Erlangs
    wait_probability: float  # Erlang C: the chance a call has to queue
    service_level: float  # share answered within the target time
    asa_s: float  # average speed of answer, seconds (inf: the queue never drains)
    occupancy: float  # load ÷ agents

    def to_json(self) -> dict[str, Any]:
        return {
            "agents": self.agents,
            "load": self.load,
            "wait_probability": self.wait_probability,
            "service_level": self.service_level,
            "asa_s": None if math.isinf(self.asa_s) else self.asa_s,
            "occupancy": self.occupancy,
        }


def offered_load(calls: float, aht_s: float, period_s: float) -> float:
    """Erlangs: the agent-seconds the calls need ÷ the period's seconds."""
    if calls < 0 or not math.isfinite(calls):
        raise ValueError("calls must be a finite number ≥ 0")
    if aht_s < 0 or not math.isfinite(aht_s):
        raise ValueError("aht_s must be a finite number ≥ 0")
    if period_s <= 0 or not math.isfinite(period_s):
        raise ValueError("period_s must be a finite number > 0")
    return calls * aht_s / period_s


def erlang_b(agents: int, load: float) -> float:
    """The blocking probability of ``agents`` lines under ``load`` Erlangs (recurrence)."""
    if agents < 0:
        raise ValueError("agents must be ≥ 0")
    if load < 0:
        raise ValueError("load must be ≥ 0")
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = load * blocking / (n + load * blocking)
    return blocking


def _erlang_c_from_b(agents: int, load: float, blocking: float) -> float:
    if agents <= load:
        return 1.0
    return agents * blocking / (agents - load * (1.0 - blocking))


def erlang_c(agents: int, load: float) -> float:
    """The probability that a call waits with ``agents`` agents and ``load`` Erlangs."""
    if load == 0:
        return 0.0
    return _erlang_c_from_b(agents, load, erlang_b(agents, load))


def _staffing(agents: int, load: float, blocking: float, aht_s: float, answer_s: float) -> Staffing:
    if load == 0:
        return Staffing(agents, 0.0, 0.0, 1.0, 0.0, 0.0)
    wait = _erlang_c_from_b(agents, load, blocking)
    if agents <= load:
        return Staffing(agents, load, 1.0, 0.0, math.inf, 1.0 if agents == 0 else load / agents)
    spare = agents - load
    level = 1.0 - wait * math.exp(-spare * answer_s / aht_s)
    return Staffing(agents, load, wait, max(0.0, level), wait * aht_s / spare, load / agents)


def evaluate(agents: int, calls: float, aht_s: float, answer_s: float, period_s: float) -> Staffing:
    """What ``agents`` agents give: wait probability, service level within ``answer_s``, ASA."""
    load = offered_load(calls, aht_s, period_s)
    if answer_s < 0:
        raise ValueError("answer_s must be ≥ 0")
    return _staffing(agents, load, erlang_b(agents, load), aht_s, answer_s)


def agents_needed(
    calls: float,
    aht_s: float,
    *,
    service_level: float = 0.80,
    answer_s: float = 15.0,
    period_s: float = 1800.0,
    max_occupancy: float = 1.0,
) -> Staffing:
    """The fewest agents whose service level within ``answer_s`` reaches ``service_level``
    (and whose occupancy stays at or under ``max_occupancy``), with what they give.

    No calls (or no handling time) need no agents. ``service_level`` is in (0, 1): a queue
    with any load answers 100 % in time only with infinitely many agents.
    """
    if not 0 < service_level < 1:
        raise ValueError("service_level must be between 0 and 1 (exclusive)")
    if answer_s < 0 or not math.isfinite(answer_s):
        raise ValueError("answer_s must be a finite number ≥ 0")
    if not 0 < max_occupancy <= 1:
        raise ValueError("max_occupancy must be in (0, 1]")
    load = offered_load(calls, aht_s, period_s)
    if load == 0:
        return Staffing(0, 0.0, 0.0, 1.0, 0.0, 0.0)
    if load / max_occupancy >= MAX_AGENTS:
        raise ValueError(f"{load:g} Erlangs need more than {MAX_AGENTS} agents")
    agents = math.floor(load) + 1  # the fewest agents with a queue that drains
    blocking = erlang_b(agents, load)
    while agents <= MAX_AGENTS:
        found = _staffing(agents, load, blocking, aht_s, answer_s)
        if found.service_level >= service_level and found.occupancy <= max_occupancy:
            return found
        agents += 1
        blocking = load * blocking / (agents + load * blocking)
    raise ValueError(f"{load:g} Erlangs need more than {MAX_AGENTS} agents")
