"""The traffic model: reproducible, Poisson with the hourly profile, every outcome reachable."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

import pytest

from hotline.sim.model import CallerScript, CallTruth
from hotline.sim.queue_log_writer import format_line
from hotline.sim.shapes import shape_mismatches
from hotline.sim.traffic import (
    DEFAULT_START,
    HOTLINE_DAY,
    AgentProfile,
    Burst,
    Simulation,
    TrafficModel,
    arrival_times,
)
from tests.captures import capture_names, load_messages


def _wire(sim: Simulation, n: int) -> list[bytes]:
    return [m.to_bytes() for m in sim.generate(n)]


def test_same_seed_same_bytes_and_queue_log(tmp_path: Path) -> None:
    model = TrafficModel(peak_calls_per_hour=400)
    a = Simulation(model, seed=11, queue_log_path=tmp_path / "a")
    b = Simulation(TrafficModel(peak_calls_per_hour=400), seed=11, queue_log_path=tmp_path / "b")
    assert _wire(a, 60) == _wire(b, 60)
    a.close()
    b.close()
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()
    assert (tmp_path / "a").stat().st_size > 0


def test_other_seed_other_stream() -> None:
    a = _wire(Simulation(TrafficModel(), seed=1), 20)
    b = _wire(Simulation(TrafficModel(), seed=2), 20)
    assert a != b


def test_generate_ends_every_call_and_counts_them() -> None:
    sim = Simulation(TrafficModel(peak_calls_per_hour=600), seed=5)
    events = list(sim.generate(200))
    c = sim.counters
    assert c.calls == 200
    assert sim.pbx.active_calls() == 0
    assert all(t.outcome is not None and t.ended_at is not None for t in sim.truths)
    assert c.answered + c.abandoned + c.timeout + c.joinempty + c.ivr_hangup == 200
    assert c.offered == 200 - c.ivr_hangup
    assert c.legs == len(sim.truths) == 200 + c.transferred
    assert c.events == len(events)
    hangups = Counter(m.get("Uniqueid") for m in events if m.name == "Hangup")
    newchannels = Counter(m.get("Uniqueid") for m in events if m.name == "Newchannel")
    assert hangups == newchannels  # every channel created is hung up exactly once


def test_generate_continues_where_it_stopped() -> None:
    sim = Simulation(TrafficModel(), seed=9)
    list(sim.generate(10))
    list(sim.generate(15))
    assert sim.counters.calls == 25


def _arrivals(model: TrafficModel, seed: int, start: float, until: float) -> list[float]:
    out = []
    for t in arrival_times(model, random.Random(seed), start):
        if t > until:
            return out
        out.append(t)
    return out


def test_arrivals_are_poisson_at_the_profile_rate() -> None:
    # A flat profile at 360 calls/h for 10 h: 3600 arrivals expected; per-minute counts of a
    # Poisson process have variance == mean.
    model = TrafficModel(peak_calls_per_hour=360.0, hourly_profile=(1.0,) * 24)
    hours = 10
    starts = _arrivals(model, 42, DEFAULT_START, DEFAULT_START + hours * 3600)
    expected = 360 * hours
    assert abs(len(starts) - expected) < 4 * expected**0.5
    per_minute = Counter(int((s - DEFAULT_START) // 60) for s in starts)
    counts = [per_minute.get(i, 0) for i in range(hours * 60)]
    mean = sum(counts) / len(counts)
    var = sum((x - mean) ** 2 for x in counts) / (len(counts) - 1)
    assert 6.0 * 0.9 < mean < 6.0 * 1.1
    assert 0.75 < var / mean < 1.25


def test_hourly_profile_shapes_the_day() -> None:
    model = TrafficModel(peak_calls_per_hour=300.0)
    midnight = DEFAULT_START - 9 * 3600  # 00:00 local (UTC+8)
    starts = _arrivals(model, 3, midnight, midnight + 24 * 3600)
    by_hour = Counter(int((t - midnight) // 3600) for t in starts)
    assert by_hour[9] > 5 * by_hour[3]
    assert by_hour[9] == pytest.approx(300 * HOTLINE_DAY[9], rel=0.3)
    assert by_hour[14] == pytest.approx(300 * HOTLINE_DAY[14], rel=0.3)


def test_simulation_places_the_arrivals() -> None:
    model = TrafficModel(peak_calls_per_hour=600.0, hourly_profile=(1.0,) * 24)
    sim = Simulation(model, seed=8, emit=lambda msg: None)
    sim.run_until(DEFAULT_START + 1800)
    expected = _arrivals(model, 8, DEFAULT_START, DEFAULT_START + 1800)
    first_legs = {}
    for t in sim.truths:  # a transferred call has a second leg with the same uniqueid
        first_legs.setdefault(t.uniqueid, t.started_at)
    assert list(first_legs.values()) == expected


def test_an_outage_burst_adds_its_callers_and_leaves_the_others_alone() -> None:
    flat = (1.0,) * 24
    plain = Simulation(TrafficModel(peak_calls_per_hour=120.0, hourly_profile=flat), seed=4)
    burst = Burst(prefix="0571861", key="2", calls=25, minutes=10, after_s=600)
    model = TrafficModel(peak_calls_per_hour=120.0, hourly_profile=flat, bursts=[burst])
    with_burst = Simulation(model, seed=4, emit=lambda msg: None)
    plain.run_until(DEFAULT_START + 3600)
    with_burst.run_until(DEFAULT_START + 3600)
    assert with_burst.burst_arrived == 25

    def first_legs(sim: Simulation) -> list[CallTruth]:
        firsts: dict[str, CallTruth] = {}
        for t in sim.truths:  # a transferred call has a second leg with the same uniqueid
            firsts.setdefault(t.uniqueid, t)
        return list(firsts.values())

    calls = first_legs(with_burst)
    area = [t for t in calls if t.caller_num.startswith("0571861")]
    assert len(area) == 25
    assert all(len(t.caller_num) == 11 and t.caller_num.isdigit() for t in area)
    # Over the ten minutes from 600 s on, and every one of them pressed the burst's key.
    assert all(600 <= t.started_at - DEFAULT_START <= 1200 for t in area)
    assert {t.ivr_digits for t in area if t.ivr_digits is not None} == {"2"}
    # The model's own callers are the same callers at the same instants as without a burst.
    own = [(t.caller_num, t.started_at) for t in calls if t not in area]
    assert own == [(t.caller_num, t.started_at) for t in first_legs(plain)]
    with pytest.raises(ValueError, match="prefix"):
        Burst(prefix="05x", key="1", calls=1, minutes=1)


def test_ivr_choices_follow_the_mix() -> None:
    model = TrafficModel()
    rng = random.Random(7)
    scripts = [model.draw_caller(rng) for _ in range(4000)]
    keys = Counter(s.dtmf for s in scripts)
    assert keys[None] / 4000 == pytest.approx(model.ivr_mix[None], abs=0.03)
    assert keys["1"] / 4000 == pytest.approx(model.ivr_mix["1"], abs=0.03)
    assert all(s.caller_num.isdigit() and len(s.caller_num) == 11 for s in scripts)


def test_routing_follows_the_ivr_table() -> None:
    sim = Simulation(TrafficModel(peak_calls_per_hour=0.0), seed=1)
    for digit, queue in (
        ("1", "hotline-general"),
        ("2", "hotline-complaint"),
        ("3", "hotline-general"),
        ("4", "hotline-report"),
        ("0", "hotline-general"),
        (None, "hotline-general"),
        ("7", "hotline-general"),
    ):
        sim.place_call(CallerScript("13800000000", "测试", digit, patience=1.0))
        sim.run_for(30)
        assert sim.truths[-1].queue == queue
        assert sim.truths[-1].ivr_digits == digit


def test_every_outcome_occurs_and_shapes_hold() -> None:
    model = TrafficModel(
        peak_calls_per_hour=500,
        ivr_hangup=0.1,
        agents=[
            AgentProfile(1, ["hotline-general"], no_answer=0.3),
            AgentProfile(2, ["hotline-general", "hotline-complaint"]),
        ],
    )
    sim = Simulation(model, seed=21)
    events = list(sim.generate(300))
    outcomes = Counter(t.outcome for t in sim.truths)
    assert set(outcomes) == {
        "answered",
        "abandoned",
        "timeout",
        "joinempty",
        "ivr_hangup",
        "transferred",
    }
    assert sim.counters.ring_no_answer > 0
    answered = [t for t in sim.truths if t.outcome == "answered"]
    assert {t.hangup_by for t in answered} == {"caller", "agent"}
    from hotline.sim.shapes import collect_shapes

    reference = collect_shapes(m for n in capture_names() for m in load_messages(n))
    assert shape_mismatches(events, reference) == []


def test_priority_callers_go_first() -> None:
    """Key 3 (urgent, priority 5) jumps the queue: answered before earlier callers."""
    model = TrafficModel(
        peak_calls_per_hour=0.0,
        queue_max_wait=600,
        agents=[
            AgentProfile(
                1,
                ["hotline-general"],
                ring_min=1,
                ring_max=1,
                talk_mean=30,
                talk_min=30,
                no_answer=0.0,
            )
        ],
    )
    sim = Simulation(model, seed=1)
    for i, digit in enumerate(("1", "1", "1", "3")):
        sim.place_call(CallerScript(f"1380000000{i}", "测试", digit))
        sim.run_for(1)
    sim.run_for(2000)
    order = sorted(
        (t for t in sim.truths if t.outcome == "answered"),
        key=lambda t: (t.queue_entered_at or 0) + (t.wait_s or 0),
    )
    assert [t.ivr_digits for t in order] == ["1", "3", "1", "1"]


def test_ring_in_use_no_and_round_robin() -> None:
    """Two free agents: consecutive callers go to different agents (rrmemory), never both
    to one (ringinuse=no)."""
    agents = [
        AgentProfile(
            n, ["hotline-general"], ring_min=2, ring_max=2, talk_mean=50, talk_min=50, no_answer=0.0
        )
        for n in (1, 2)
    ]
    sim = Simulation(TrafficModel(peak_calls_per_hour=0.0, agents=agents), seed=1)
    sim.place_call(CallerScript("13800000001", "甲", "1"))
    sim.run_for(1)
    sim.place_call(CallerScript("13800000002", "乙", "1"))
    sim.run_for(500)
    assert sorted(t.answered_by or "" for t in sim.truths) == ["Robot Agent 1", "Robot Agent 2"]
    assert all(t.wait_s is not None and t.wait_s <= 3 for t in sim.truths)


def test_queue_log_file_lines(tmp_path: Path) -> None:
    path = tmp_path / "log" / "queue_log"
    # A transfer share well above the default 3 %: 50 calls surely hold both kinds of transfer.
    model = TrafficModel(peak_calls_per_hour=300, transfer_share=0.3)
    sim = Simulation(model, seed=4, queue_log_path=path)
    list(sim.generate(50))
    sim.close()
    lines = path.read_text("utf-8").splitlines()
    events = Counter(line.split("|")[4] for line in lines)
    legs = Counter(t.outcome for t in sim.truths)
    assert sim.counters.transferred > 0
    assert events["ENTERQUEUE"] == sum(1 for t in sim.truths if t.queue is not None)
    assert events["CONNECT"] == legs["answered"] + legs["transferred"]
    # A transfer by AMI Redirect of the caller leaves no BLINDTRANSFER: app_queue logs the
    # leg's end as a COMPLETE* line, like an answered call's.
    ended = events["COMPLETECALLER"] + events["COMPLETEAGENT"] + events["BLINDTRANSFER"]
    assert ended == legs["answered"] + legs["transferred"]
    assert 0 < events["BLINDTRANSFER"] < legs["transferred"]
    assert events["ABANDON"] == legs["abandoned"]
    assert events["EXITWITHTIMEOUT"] == legs["timeout"] > 0
    # [hotline-transfer] has no callback step: a transferred leg's timeout asks for none.
    assert 0 < events["CALLBACKREQ"] <= events["EXITWITHTIMEOUT"]
    assert events["EXITEMPTY"] == legs["joinempty"]
    assert format_line(1.9, "u", "q", "NONE", "X", "", 1) == "1|u|q|NONE|X||1"


async def test_run_realtime_scales_time_and_stops() -> None:
    sim = Simulation(
        TrafficModel(peak_calls_per_hour=3600.0, hourly_profile=(1.0,) * 24),
        seed=2,
        emit=lambda msg: None,
    )
    ended = asyncio.Event()
    sim.pbx.on_call_end.append(
        lambda truth: (
            ended.set() if len([t for t in sim.truths if t.ended_at is not None]) >= 3 else None
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    wall0 = loop.time()
    task = asyncio.create_task(sim.run_realtime(speed=600.0, stop_event=stop))
    await asyncio.wait_for(ended.wait(), timeout=10)
    stop.set()
    await asyncio.wait_for(task, timeout=2)
    wall = loop.time() - wall0
    simulated = sim.now - DEFAULT_START
    # Simulated time ran ~600x the wall clock (generous bounds: CI machines are slow).
    assert simulated > 0
    assert sim.counters.calls >= 3
    assert simulated <= 600 * wall + 1


def test_drain_finishes_calls_without_new_arrivals() -> None:
    sim = Simulation(TrafficModel(peak_calls_per_hour=1200), seed=6, emit=lambda msg: None)
    sim.run_for(600)
    arrived = sim.arrived
    assert sim.pbx.active_calls() > 0
    sim.drain()
    assert sim.arrived == arrived == sim.counters.calls
    assert sim.pbx.active_calls() == 0


def test_ids_and_timestamps_look_like_asterisk() -> None:
    import re

    sim = Simulation(TrafficModel(peak_calls_per_hour=600), seed=12)
    events = list(sim.generate(80))
    stamps = [float(m["Timestamp"]) for m in events if "Timestamp" in m]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert all(re.fullmatch(r"\d{10}\.\d{6}", m["Timestamp"]) for m in events)
    uids = [m["Uniqueid"] for m in events if m.name == "Newchannel"]
    assert all(re.fullmatch(r"\d{10}\.\d+", u) for u in uids)
    assert [int(u.split(".")[1]) for u in uids] == list(range(len(uids)))
    # Local channel suffixes: 8 hex digits counting up, each shared by a ;1/;2 pair.
    suffixes = [
        int(m["Channel"].rsplit("-", 1)[1][:8], 16)
        for m in events
        if m.name == "Newchannel" and m["Channel"].endswith(";1")
    ]
    assert suffixes == list(range(len(suffixes)))
    privileges = {m.name: m["Privilege"] for m in events if "Privilege" in m}
    assert privileges["QueueCallerJoin"] == "agent,all"
    assert privileges["Newexten"] == "dialplan,all"
