"""Erlang C staffing: checked against published tables and an independent exact computation.

Published sources used (both read in their stored copies; the numbers below were checked
against them, nothing was taken on trust):

- Erlang B: Peter Dordal, "Erlang Models", Loyola University Chicago, Dept. of Computer
  Science, https://pld.cs.luc.edu/telecom/mnotes/erlang.html — "lines needed" for a call
  rate (Erlangs) at 1 % and 0.1 % blocking, 10 … 1,000 Erlangs (from erlang.com's calculator).
- Erlang C: the worked example of Call Centre Helper, "Erlang C Formula – Made Simple With
  an Easy Worked Example" (callcentrehelper.com): 100 calls in 30 minutes, AHT 180 s,
  80 % answered within 20 s, traffic intensity A = 10 Erlangs, first try N = A + 1 = 11.
  Its inputs and A are checked here; the service levels asserted are computed independently
  by the textbook sum formula in exact rational arithmetic (``exact_c`` below), because the
  stored copy of that page breaks off before its results.
- Erlang C with a 15-second target: the worked example reproduced in "Expected waiting time
  formulas in Maxima" (Robert Dodier's erlang.mac; its results "agree with those stated on
  the web page" it follows): λ = 0.2 calls/s, T_s = 240 s, m = 55 agents → E_c = 0.2387,
  T_w = 8.184 s, P(wait ≤ 15 s) = 0.8459 (read in the stored copy of that article).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acd.staffing import Target, agents_needed, erlang_b, erlang_c, evaluate
from acd.staffing.plan import SLOTS_PER_DAY, forecast, history, plan, same_weekdays
from acd.staffing.planner import StaffingPlanner

ZONE = ZoneInfo("Asia/Shanghai")


def exact_b(agents: int, load: int) -> Fraction:
    """Erlang B as the textbook ratio (A^N/N!) / Σ_{k≤N} A^k/k!, in exact fractions."""
    terms = [Fraction(load**k, math.factorial(k)) for k in range(agents + 1)]
    return terms[-1] / sum(terms)


def exact_c(agents: int, load: Fraction) -> Fraction:
    """Erlang C as the textbook ratio, exact: no recurrence shared with the code under test."""
    tail = load**agents / math.factorial(agents) * Fraction(agents) / (agents - load)
    head = sum(load**k / math.factorial(k) for k in range(agents))
    return tail / (head + tail)


# Dordal's table: Erlangs → lines needed at 1 % and at 0.1 % blocking.
DORDAL = {
    0.01: {10: 18, 20: 30, 50: 64, 100: 118, 180: 201, 200: 221, 500: 526, 1000: 1029},
    0.001: {10: 21, 20: 35, 50: 71, 100: 128, 180: 216, 200: 237, 500: 554, 1000: 1071},
}


def lines_needed(load: float, blocking: float) -> int:
    lines = 0
    while erlang_b(lines, load) > blocking:
        lines += 1
    return lines


@pytest.mark.parametrize("blocking", sorted(DORDAL))
def test_erlang_b_against_the_published_table(blocking: float) -> None:
    for load, published in DORDAL[blocking].items():
        ours = lines_needed(load, blocking)
        # The table is right to the line in most cells; where it is not, exact arithmetic
        # shows the table's count misses (or overshoots) its own blocking target.
        assert abs(ours - published) <= 1, (load, ours, published)
        assert exact_b(ours, load) <= Fraction(blocking) < exact_b(ours - 1, load), load


def test_where_the_table_is_one_line_off_exact_arithmetic_agrees_with_us() -> None:
    # 500 Erlangs at 1 %: the table says 526 lines, but B(526, 500) = 1.015 % > 1 %.
    assert float(exact_b(526, 500)) == pytest.approx(0.010151, abs=1e-6)
    assert lines_needed(500, 0.01) == 527
    # 100 Erlangs at 1 %: the table says 118, but 117 lines already block 0.979 %.
    assert float(exact_b(117, 100)) == pytest.approx(0.009790, abs=1e-6)
    assert lines_needed(100, 0.01) == 117


def test_the_call_centre_helper_worked_example() -> None:
    # 100 calls in 30 minutes at AHT 180 s = 10 Erlangs; target 80 % within 20 s.
    load = Fraction(100 * 180, 1800)
    assert load == 10
    sla: dict[int, float] = {}
    for agents in range(11, 16):
        wait = exact_c(agents, load)
        got = evaluate(agents, 100, 180, 20, 1800)
        assert got.wait_probability == pytest.approx(float(wait), rel=1e-12)
        level = 1 - float(wait) * math.exp(-(agents - 10) * 20 / 180)
        assert got.service_level == pytest.approx(level, rel=1e-12)
        assert got.asa_s == pytest.approx(float(wait) * 180 / (agents - 10), rel=1e-12)
        sla[agents] = got.service_level
    # The page's first try, N = A + 1 = 11: a call waits with probability 0.682.
    assert evaluate(11, 100, 180, 20, 1800).wait_probability == pytest.approx(0.6821, abs=1e-4)
    # 13 agents fall just short of 80 %, 14 reach it.
    assert sla[13] == pytest.approx(0.7956, abs=1e-4)
    assert sla[14] == pytest.approx(0.8884, abs=1e-4)
    needed = agents_needed(100, 180, service_level=0.80, answer_s=20, period_s=1800)
    assert needed.agents == 14
    assert needed.service_level == pytest.approx(0.8884, abs=1e-4)
    assert needed.asa_s == pytest.approx(7.84, abs=0.01)
    assert needed.occupancy == pytest.approx(10 / 14)


def test_the_published_15_second_example() -> None:
    # 0.2 calls/s over half an hour = 360 calls; 240 s each = 48 Erlangs; 55 agents.
    got = evaluate(55, 360, 240, 15, 1800)
    assert got.load == 48
    assert got.wait_probability == pytest.approx(0.2387, abs=5e-5)
    assert got.asa_s == pytest.approx(8.184, abs=5e-4)
    assert got.service_level == pytest.approx(0.8459, abs=5e-5)
    # 55 is also the fewest agents that reach 80 % within 15 s at that traffic.
    assert agents_needed(360, 240).agents == 55
    assert evaluate(54, 360, 240, 15, 1800).service_level < 0.80


def test_the_hotline_target_80_percent_in_15_seconds() -> None:
    found = agents_needed(100, 180)  # defaults: 80 % within 15 s, half an hour
    assert found.agents == 14
    below = evaluate(13, 100, 180, 15, 1800)
    assert below.service_level < 0.80 <= found.service_level


def test_large_agent_counts_do_not_overflow() -> None:
    # 20,000 calls an hour at 180 s: 1,000 Erlangs. The textbook sum overflows floats here.
    with pytest.raises(OverflowError):
        _ = 1000.0**1000  # the hazard the recurrence avoids
    found = agents_needed(10_000, 180, service_level=0.80, answer_s=15)
    assert 1000 < found.agents < 1100
    assert math.isfinite(found.asa_s) and 0.8 <= found.service_level < 1
    exact = float(exact_c(found.agents, Fraction(1000)))
    assert found.wait_probability == pytest.approx(exact, rel=1e-9)
    assert erlang_c(found.agents - 1, 1000.0) > found.wait_probability


def test_no_calls_need_no_agents_and_overload_never_drains() -> None:
    none = agents_needed(0, 180)
    assert (none.agents, none.service_level, none.asa_s) == (0, 1.0, 0.0)
    overloaded = evaluate(10, 100, 180, 15, 1800)  # N = A
    assert overloaded.service_level == 0.0 and math.isinf(overloaded.asa_s)
    assert overloaded.to_json()["asa_s"] is None
    for bad in (
        lambda: agents_needed(-1, 180),
        lambda: agents_needed(10, 180, service_level=1.0),
        lambda: agents_needed(10, float("nan")),
        lambda: agents_needed(10, 180, period_s=0),
    ):
        with pytest.raises(ValueError):
            bad()


@given(
    calls=st.floats(min_value=0.5, max_value=3000),
    aht=st.floats(min_value=10, max_value=900),
    level=st.floats(min_value=0.5, max_value=0.99),
)
def test_the_answer_is_the_fewest_agents_meeting_the_target(
    calls: float, aht: float, level: float
) -> None:
    found = agents_needed(calls, aht, service_level=level)
    assert found.service_level >= level
    if found.agents > math.floor(found.load) + 1:
        fewer = evaluate(found.agents - 1, calls, aht, 15, 1800)
        assert fewer.service_level < level


async def _none() -> list[dict[str, Any]]:
    return []


# ---- the plan ----------------------------------------------------------------------------


def leg(at: datetime, outcome: str = "answered", talk_s: int | None = 120) -> dict[str, Any]:
    return {
        "queue_entered_at": at.timestamp(),
        "outcome": outcome,
        "talk_s": talk_s if outcome == "answered" else None,
    }


def test_forecast_is_the_same_weekday_of_recent_weeks() -> None:
    day = date(2026, 12, 3)  # a Thursday
    past = same_weekdays(day, 4)
    assert past == [day - timedelta(weeks=n) for n in range(1, 5)]
    records = []
    # Two of the four Thursdays had calls at 09:00-09:30: 10 and 20 legs (answered, 120 s),
    # one abandoned leg at 09:10 on the first; a Wednesday's calls do not count.
    nine = datetime(2026, 11, 26, 9, 5, tzinfo=ZONE)
    records += [leg(nine) for _ in range(10)]
    records.append(leg(nine.replace(minute=10), "abandoned"))
    records += [leg(nine - timedelta(weeks=1)) for _ in range(20)]
    records += [leg(nine - timedelta(days=1)) for _ in range(50)]
    records.append({"queue_entered_at": None, "outcome": None})  # hung up in the IVR
    got = forecast(history(records, past, ZONE, wrap_up_s=30.0), default_aht_s=240.0)
    assert got.weeks_used == [date(2026, 11, 26), date(2026, 11, 19)]  # empty weeks left out
    assert got.calls[18] == (11 + 20) / 2
    assert got.aht_s[18] == 150.0  # talk 120 + wrap-up 30
    assert got.aht_s[0] == 150.0  # no call then: the whole history's AHT
    assert sum(got.calls) == got.calls[18]
    fresh = forecast(history([], past, ZONE, 0.0), default_aht_s=240.0)
    assert fresh.aht_default and fresh.aht_s == [240.0] * SLOTS_PER_DAY


def test_typed_calls_override_the_forecast() -> None:
    rows = plan([0.0] * SLOTS_PER_DAY, [180.0] * SLOTS_PER_DAY, Target(0.8, 20), {18: 100})
    assert rows[18].typed and rows[18].staffing.agents == 14
    assert rows[17].staffing.agents == 0 and not rows[17].typed
    assert rows[18].to_json()["start"] == "09:00"
    with pytest.raises(ValueError, match="slot 48"):
        plan([0.0] * SLOTS_PER_DAY, [180.0] * SLOTS_PER_DAY, Target(), {48: 1})
    with pytest.raises(ValueError, match="slot 3"):
        plan([0.0] * SLOTS_PER_DAY, [180.0] * SLOTS_PER_DAY, Target(), {3: -1})


async def test_the_planner_reads_four_weeks_and_answers_the_current_half_hour() -> None:
    asked: list[tuple[datetime, datetime]] = []
    nine = datetime(2026, 11, 26, 9, 5, tzinfo=ZONE)
    records = [leg(nine, talk_s=180) for _ in range(100)]

    async def fetch(start: datetime, end: datetime) -> list[dict[str, Any]]:
        asked.append((start, end))
        return [r for r in records if start.timestamp() <= r["queue_entered_at"] < end.timestamp()]

    now = datetime(2026, 12, 3, 9, 20, tzinfo=ZONE).timestamp()
    planner = StaffingPlanner(fetch, ZONE, target=Target(0.8, 20), clock=lambda: now)
    assert planner.needed_now() is None
    assert await planner.refresh_now() == 14
    assert await planner.refresh_now() == 14  # the same half hour: no second read
    # The four Thursdays before, each read on its own (local midnight to midnight).
    assert asked == [
        (datetime(2026, 11, d, tzinfo=ZONE), datetime(2026, 11, d + 1, tzinfo=ZONE))
        for d in (26, 19, 12, 5)
    ]
    empty = StaffingPlanner(lambda start, end: _none(), ZONE, clock=lambda: now)
    assert await empty.refresh_now() is None  # no history: no forecast, not "0 needed"
    day = await planner.plan_day(date(2026, 12, 3))
    body = day.to_json()
    assert body["peak_agents"] == 14 and body["weeks_used"] == ["2026-11-26"]
    assert datetime.fromtimestamp(now, UTC).astimezone(ZONE).hour == 9
