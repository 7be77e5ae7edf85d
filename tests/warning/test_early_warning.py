"""Early warning without a loop of its own: areas, signals, the burst rule, and a day of the
simulator's traffic model — a normal day raises nothing, the same day with an outage burst
raises one suggestion, which becomes an incident or is dismissed."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from events.payloads import problems
from events.topics import (
    CALL_ANSWERED,
    CALL_ENDED,
    CALL_IVR_FINISHED,
    WARNING_ACCEPTED,
    WARNING_DISMISSED,
    WARNING_SUGGESTED,
)
from hotline.sim.traffic import Burst, TrafficModel, arrival_times
from ivr.incidents import Incident
from warning.areas import AreaMap, normalise
from warning.detector import BurstDetector, Thresholds, hourly_baseline
from warning.service import EarlyWarning, WarningError
from warning.signals import observe

ZONE = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 12, 3, tzinfo=ZONE)  # a Thursday
EAST = AreaMap([("东区", ["1390", "1391"]), ("老城", ["0571861"])], prefix_digits=7)
# Menu key → (HOTLINE_CHOICE, HOTLINE_CATEGORY) as the shipped menu routes them (2 then 1:
# the urgent help branch, 停水停电).
ROUTES: dict[str | None, tuple[str, str | None]] = {
    "1": ("1", "consultation"),
    "2": ("21", "help"),
    "3": ("3", "complaint"),
    "4": ("4", "report"),
    "0": ("0", None),
    None: ("timeout", None),
}


def call(number: str, at: float, key: str | None, n: int) -> dict[str, Any]:
    choice, category = ROUTES.get(key, ("invalid", None))
    return {
        "linkedid": f"{at:.3f}.{n}",
        "pbx": "pbx1",
        "caller_num": number,
        "started_at": at,
        "ivr_choice": choice,
        "vars": {"HOTLINE_CATEGORY": category} if category else {},
    }


def a_day(day: datetime, seed: int, bursts: tuple[Burst, ...] = ()) -> list[dict[str, Any]]:
    """The traffic model's callers of one local day (peak 600 calls an hour), time ordered."""
    model = TrafficModel(peak_calls_per_hour=600.0)
    rng, callers = random.Random(seed), random.Random(seed + 1)
    start, end = day.timestamp(), (day + timedelta(days=1)).timestamp()
    calls = []
    for n, at in enumerate(arrival_times(model, rng, start)):
        if at >= end:
            break
        script = model.draw_caller(callers)
        calls.append(call(script.caller_num, at, script.dtmf, n))
    extra = random.Random(seed + 2)
    for burst in bursts:
        for m, at in enumerate(burst.arrivals(extra, start)):
            script = burst.caller(model.draw_caller(extra), extra)
            calls.append(call(script.caller_num, at, script.dtmf, 10**6 + m))
    return sorted(calls, key=lambda c: c["started_at"])


class History:
    """The store's ``calls_between`` over the four weeks before DAY (the model, other seeds)."""

    def __init__(self) -> None:
        self.calls = [c for w in range(1, 5) for c in a_day(DAY - timedelta(weeks=w), seed=w)]
        self.asked = 0

    async def __call__(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        self.asked += 1
        return [c for c in self.calls if start.timestamp() <= c["started_at"] < end.timestamp()]


class Rig:
    def __init__(self, history: History | None = None) -> None:
        self.now = DAY.timestamp()
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.incidents: list[dict[str, Any]] = []
        self.service = EarlyWarning(
            areas=EAST,
            thresholds=Thresholds(window_s=900, min_calls=8, ratio=3.0),
            publish=lambda topic, payload: self.events.append((topic, payload)),
            create_incident=self.create,
            fetch_calls=history,
            zone=ZONE,
            clock=lambda: self.now,
            cooldown_s=3600,
        )

    async def create(self, data: dict[str, Any]) -> dict[str, Any]:
        incident = Incident.from_json(data)  # what the incident desk checks first
        self.incidents.append(data)
        return incident.to_json()

    async def play(self, calls: list[dict[str, Any]]) -> None:
        for payload in calls:
            self.now = payload["started_at"]
            await self.service.observe(payload)


# ---- areas and signals ---------------------------------------------------------------------


def test_the_area_is_the_longest_configured_prefix_else_the_first_digits() -> None:
    assert EAST.area_of("13901234567").name == "东区"  # type: ignore[union-attr]
    assert EAST.area_of("+86 139-1123-4567").key == "area:东区"  # type: ignore[union-attr]
    assert EAST.area_of("057186101234").prefixes == ("0571861",)  # type: ignore[union-attr]
    other = EAST.area_of("13812345678")
    assert other is not None and other.key == "prefix:1381234" and other.prefixes == ("1381234",)
    assert EAST.area_of("anonymous") is None and EAST.area_of(None) is None
    assert EAST.area_of("1390") is None  # the prefix alone is no caller
    assert AreaMap(prefix_digits=0).area_of("13812345678") is None
    assert normalise("0086 139 0000 1111") == "13900001111"
    with pytest.raises(ValueError, match="two areas"):
        AreaMap([("a", ["1390"]), ("b", ["1390"])])


def test_a_call_is_grouped_by_its_category_and_its_branch() -> None:
    got = observe(call("13901234567", 100.0, "2", 1), EAST)
    assert got is not None and got.area.name == "东区"
    assert got.signals == (("category", "help"), ("branch", "21"))
    assert got.call_id == "pbx1|100.000.1"
    # A timeout or invalid key is no branch; without a category nothing is left to group by.
    assert observe(call("13901234567", 100.0, None, 2), EAST) is None
    assert observe(call("13901234567", 100.0, "0", 3), EAST).signals == (("branch", "0"),)  # type: ignore[union-attr]
    assert observe({**call("13901234567", 1.0, "1", 4), "linkedid": None}, EAST) is None
    # call.ivr_finished says "at" where call.ended says "started_at".
    ivr = {**call("13901234567", 0, "1", 5), "at": 50.0}
    del ivr["started_at"]
    assert observe(ivr, EAST).at == 50.0  # type: ignore[union-attr]


def test_the_window_slides_and_counts_each_call_once() -> None:
    detector = BurstDetector(Thresholds(window_s=600, min_calls=3, ratio=2))
    key = ("area:东区", "category", "help")
    assert [detector.add(key, f"c{n}", 100.0 * n) for n in range(5)] == [1, 2, 3, 4, 5]
    assert detector.add(key, "c4", 400.0) == 5  # the same call again (its call.ended)
    assert detector.add(key, "c9", 850.0) == 3  # 0, 100 and 200 left the window
    assert detector.span(key) == (300.0, 850.0)
    assert detector.calls(key) == ["c3", "c4", "c9"]
    assert Thresholds(600, 3, 2).needed(0.0) == 3  # no history: min_calls
    assert Thresholds(600, 3, 2).needed(60.0) == 20  # 10 expected in 10 minutes, times 2


def test_the_baseline_is_the_mean_of_the_weeks_with_calls() -> None:
    weeks = [
        [call("13901234567", 1.0, "2", 1), call("13901234568", 2.0, "2", 2)],
        [call("13901234569", 3.0, "2", 3)],
        [],  # not running yet that week: not a quiet week
    ]
    baseline = hourly_baseline(weeks, EAST)
    assert baseline[("area:东区", "category", "help")] == 1.5
    assert baseline[("area:东区", "branch", "21")] == 1.5


# ---- a day of the traffic model ------------------------------------------------------------


async def test_a_normal_day_raises_nothing() -> None:
    history = History()
    rig = Rig(history)
    day = a_day(DAY, seed=99)
    assert len(day) > 5000
    await rig.play(day)
    assert rig.service.list() == [] and rig.events == []
    assert rig.service.observed > 1000
    assert history.asked == 24 * 4  # each hour's baseline read once, four weeks each


async def test_an_outage_burst_raises_one_suggestion_on_the_bus(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # 30 callers from 东区 pressing 2 (help, 21) over 10 minutes at 10:00, the busy hour.
    burst = Burst(prefix="1391", key="2", calls=30, minutes=10, after_s=10 * 3600)
    rig = Rig(History())
    await rig.play(a_day(DAY, seed=99, bursts=(burst,)))
    (suggestion,) = rig.service.list()
    assert (suggestion["area"], suggestion["kind"], suggestion["value"]) == (
        "东区",
        "category",
        "help",
    )
    assert suggestion["status"] == "open" and suggestion["calls"] >= 8
    assert suggestion["prefixes"] == ["1390", "1391"]
    raised = datetime.fromisoformat(suggestion["raised_at"]).astimezone(ZONE)
    assert raised.hour == 10 and raised.minute < 10  # within the burst, not after it
    assert [t for t, _ in rig.events] == [WARNING_SUGGESTED]
    assert problems(WARNING_SUGGESTED, rig.events[0][1]) == []

    # One click: the incident concerns the area's callers, is announced now, text generic.
    caplog.set_level(logging.WARNING, logger="warning.service")
    rig.now += 60
    accepted, incident = await rig.service.accept(suggestion["id"], "banzhang")
    assert accepted["status"] == "accepted" and accepted["incident_id"] == incident["id"]
    (data,) = rig.incidents
    assert data["prefixes"] == ["1390", "1391"] and "东区" in data["title"]
    assert Incident.from_json(incident).concerns("13911112222", None)
    assert datetime.fromisoformat(data["start"]).timestamp() == pytest.approx(rig.now)
    assert rig.events[-1][0] == WARNING_ACCEPTED
    assert problems(WARNING_ACCEPTED, rig.events[-1][1]) == []
    with pytest.raises(WarningError, match="accepted already"):
        await rig.service.dismiss(suggestion["id"], "banzhang")
    assert "accepted by banzhang" in caplog.text


async def test_dismissing_is_logged_and_quiets_the_area_for_the_cooldown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="warning.service")
    rig = Rig()  # no history: min_calls alone decides
    start = DAY.timestamp() + 9 * 3600
    burst = [call(f"1390000{n:04d}", start + 20 * n, "2", n) for n in range(10)]
    await rig.play(burst)
    (suggestion,) = rig.service.list()
    dismissed = await rig.service.dismiss(suggestion["id"], "banzhang", "已知：计划停水")
    assert dismissed["status"] == "dismissed" and dismissed["reason"] == "已知：计划停水"
    assert rig.events[-1] == (WARNING_DISMISSED, dismissed)
    assert "dismissed by banzhang: 已知：计划停水" in caplog.text
    # More of the same within the hour: quiet. After the cooldown: a new suggestion.
    await rig.play([call(f"1390001{n:04d}", start + 300 + 10 * n, "2", 100 + n) for n in range(10)])
    assert len(rig.service.list()) == 1
    later = start + 3600 + 600
    await rig.play([call(f"1390002{n:04d}", later + 10 * n, "2", 200 + n) for n in range(10)])
    assert [s["status"] for s in rig.service.list()] == ["open", "dismissed"]
    with pytest.raises(KeyError):
        await rig.service.dismiss("warn-nope", "banzhang")


async def test_the_table_reads_ivr_outcomes_and_ended_calls_and_a_failing_store_is_survived(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(start: datetime, end: datetime) -> list[dict[str, Any]]:
        raise OSError("database down")

    rig = Rig()
    rig.service._fetch = broken
    assert set(rig.service.handlers) == {CALL_IVR_FINISHED, CALL_ENDED}
    at = DAY.timestamp() + 8 * 3600
    for n in range(8):
        payload = call(f"1390000{n:04d}", at + n, "1", n)
        await rig.service._on_call_event(CALL_IVR_FINISHED, payload)
        await rig.service._on_call_event(CALL_ENDED, payload)  # the same call: counted once
        await rig.service._on_call_event(CALL_ANSWERED, payload)  # not in the table
    (suggestion,) = rig.service.list()
    assert suggestion["calls"] == 8
    assert "no baseline" in caplog.text
    assert datetime.fromisoformat(suggestion["first_call_at"]) == datetime.fromtimestamp(at, UTC)
