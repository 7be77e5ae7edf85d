"""The live counters equal the batch computation, and start again at local midnight."""

from __future__ import annotations

import random
from typing import Any

import pytest

from acd.kpi import KpiParams, LiveKpi, compute
from tests.acd.kpi_builders import local, record

DAY_START = local(2026, 11, 23, 0)
DAY_END = local(2026, 11, 24, 0)
QUEUES = ("hotline-general", "hotline-complaint", "hotline-report")
AGENTS = ("Agent 1", "Agent 2", "Agent 3", "Agent 4")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def random_day(seed: int, calls: int = 300) -> list[dict[str, Any]]:
    """One local day of calls, in the order their records would finish."""
    rng = random.Random(seed)
    records: list[tuple[float, dict[str, Any]]] = []
    for n in range(calls):
        at = rng.uniform(DAY_START, DAY_END - 3600)
        uid = f"{int(at)}.{n}"
        queue = rng.choice(QUEUES)
        rings = tuple(rng.sample(AGENTS, rng.randint(0, 2)))
        kind = rng.choices(
            ["answered", "abandoned", "timeout", "joinempty", "ivr_hangup", "transfer"],
            weights=[50, 15, 5, 3, 7, 10],
        )[0]
        wait = rng.randint(0, 90)
        if kind == "transfer":
            first = record(
                "transferred",
                wait,
                rng.randint(5, 300),
                at=at,
                queue=queue,
                agent=rng.choice(AGENTS),
                uniqueid=uid,
                leg=0,
                rings=rings,
            )
            second_at = at + wait + 30
            outcome = rng.choice(["answered", "abandoned", "timeout"])
            second = record(
                outcome,
                rng.randint(0, 60),
                rng.randint(5, 300) if outcome == "answered" else None,
                at=second_at,
                queue=rng.choice(QUEUES),
                agent=rng.choice(AGENTS),
                uniqueid=uid,
                leg=1,
            )
            records += [(second_at - 1, first), (second_at + 400, second)]
            continue
        talk = rng.randint(5, 600) if kind == "answered" else None
        item = record(
            kind,
            wait,
            talk,
            at=at,
            queue=queue,
            agent=rng.choice(AGENTS),
            uniqueid=uid,
            rings=rings,
        )
        records.append((at + wait + (talk or 0), item))
    return [item for _, item in sorted(records, key=lambda pair: pair[0])]  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_snapshot_equals_compute_over_the_same_records(seed: int) -> None:
    records = random_day(seed)
    params = KpiParams(wrap_up_s=15)
    windows = [(DAY_START + 3 * 3600, DAY_START + 4 * 3600, "system fault")]
    live = LiveKpi(params, windows, clock=Clock(DAY_END - 1))
    for item in records:
        live.add(item)
    expected = compute(records, params, windows).to_json()
    assert live.snapshot().to_json() == expected
    # Not trivially equal: the day has calls in every breakdown, transfers and exclusions.
    assert expected["counts"]["calls"] < expected["counts"]["legs"]
    assert expected["excluded"]["calls"] > 0
    assert len(expected["by_hour"]) > 12 and len(expected["by_agent"]) == len(AGENTS)


def test_snapshot_equals_compute_after_every_record() -> None:
    records = random_day(seed=7, calls=60)
    live = LiveKpi(clock=Clock(DAY_END - 1))
    for n, item in enumerate(records, start=1):
        live.add(item)
        assert live.snapshot().to_json() == compute(records[:n]).to_json(), n


def test_a_transfer_changes_the_call_not_the_count() -> None:
    live = LiveKpi(clock=Clock(DAY_END - 1))
    uid = "1795400000.1"
    at = local(2026, 11, 23, 9)
    live.add(record("transferred", 20, 30, at=at, uniqueid=uid, leg=0))
    live.add(record("answered", 2, 60, at=at + 60, uniqueid=uid, leg=1))
    totals = live.snapshot().totals
    assert (totals["offered"].value, totals["answered"].value) == (1, 1)
    assert totals["answered_within"].value == 0  # the first answer came after 20 s
    assert totals["aht"].value == 90
    assert (
        live.totals_json()["aht"]["formula"]
        == "Σ(talk + 0 s wrap-up) over agent handlings ÷ answered"
    )


def test_counters_start_again_at_local_midnight() -> None:
    clock = Clock(local(2026, 11, 23, 23, 59))
    live = LiveKpi(clock=clock)
    assert live.day == "2026-11-23"
    assert live.add(record("answered", 3, 30, at=local(2026, 11, 23, 23, 50))) is True
    assert live.snapshot().totals["answered"].value == 1
    clock.now = local(2026, 11, 24, 0, 0, 1)  # 16:00:01 UTC: a new day in Shanghai only
    report = live.snapshot()
    assert live.day == "2026-11-24"
    assert report.totals["answered"].value == 0 and report.records == 0
    # A call that arrived before midnight and finished after it belongs to yesterday.
    assert live.add(record("abandoned", 30, at=local(2026, 11, 23, 23, 59, 40))) is False
    assert live.late_records == 1
    assert live.add(record("abandoned", 30, at=local(2026, 11, 24, 0, 0, 0))) is True
    assert live.snapshot().totals["offered"].value == 1
    assert list(live.snapshot().by_day) == ["2026-11-24"]


def test_a_record_from_a_later_day_moves_the_counters_on() -> None:
    live = LiveKpi(clock=Clock(local(2026, 11, 23, 23, 59, 59)))
    live.add(record("answered", 3, 30, at=local(2026, 11, 23, 23, 0)))
    live.add(record("answered", 3, 30, at=local(2026, 11, 24, 0, 0, 1)))  # the PBX clock is ahead
    assert live.day == "2026-11-24"
    assert live.snapshot().totals["answered"].value == 1


def test_a_new_exclusion_window_recounts_today() -> None:
    live = LiveKpi(clock=Clock(DAY_END - 1))
    at = local(2026, 11, 23, 14)
    live.add(record("abandoned", 50, at=at))
    live.add(record("answered", 5, 50, at=at + 3600))
    assert live.snapshot().totals["connect_rate"].value == 0.5
    live.set_exclusions([(at - 60, at + 60, "outage 停电")])
    report = live.snapshot()
    assert report.totals["connect_rate"].value == 1.0
    assert report.excluded.to_json() == {"calls": 1, "legs": 1, "by_reason": {"outage 停电": 1}}


def test_bad_and_replayed_records_are_listed_not_counted() -> None:
    live = LiveKpi(clock=Clock(DAY_END - 1))
    good = record("answered", 3, 30, at=local(2026, 11, 23, 9))
    assert live.add(good) is True
    assert live.add(dict(good)) is False
    assert live.add({"outcome": "answered", "uniqueid": "x"}) is False
    report = live.snapshot()
    assert report.totals["answered"].value == 1
    assert [item.reason for item in report.rejected] == [
        "duplicate of an earlier record (same call and leg)",
        "outcome answered without a queue",
    ]


def test_a_snapshot_does_not_change_afterwards() -> None:
    at = local(2026, 11, 23, 14)
    live = LiveKpi(exclusions=[(at - 60, at + 60, "outage")], clock=Clock(DAY_END - 1))
    live.add(record("abandoned", 50, at=at))
    live.add({"outcome": "bogus"})
    before = live.snapshot()
    frozen = before.to_json()
    live.add(record("abandoned", 50, at=at + 1))
    live.add({"outcome": "bogus"})
    live.add(record("answered", 5, 50, at=at + 3600))
    assert before.to_json() == frozen
    assert live.snapshot().to_json() != frozen
