"""Staffing (排班): Erlang C agents needed per half hour for a service-level target.

- `erlang`: the arithmetic (Erlang B recurrence, Erlang C, service level, ASA, agents needed).
- `plan`: a day's forecast from the call records of the same weekday on recent weeks, and
  the plan per half hour.
- `planner`: the service the web API, the CLI and the wall screen ask (no transport inside).
"""

from acd.staffing.erlang import Staffing, agents_needed, erlang_b, erlang_c, evaluate
from acd.staffing.plan import SLOT_S, SLOTS_PER_DAY, Target
from acd.staffing.planner import DayPlan, StaffingPlanner

__all__ = [
    "SLOTS_PER_DAY",
    "SLOT_S",
    "DayPlan",
    "Staffing",
    "StaffingPlanner",
    "Target",
    "agents_needed",
    "erlang_b",
    "erlang_c",
    "evaluate",
]
