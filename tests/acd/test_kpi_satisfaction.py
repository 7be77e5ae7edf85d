"""Caller satisfaction (满意率) from post-call surveys, and calls deflected to incidents."""

from __future__ import annotations

import random
from typing import Any

import pytest

from acd.kpi import KpiParams, LiveKpi, compute
from tests.acd.kpi_builders import MORNING, record
from tests.acd.test_kpi_live import DAY_END, DAY_START, Clock, random_day


def rated(item: dict[str, Any], survey: str | None = None, **extra: Any) -> dict[str, Any]:
    return {**item, "survey": survey, **extra}


def surveyed_day() -> list[dict[str, Any]]:
    x = "1795440900.1"
    return [
        rated(record("answered", 3, 60, agent="Agent 1", at=MORNING), "satisfied"),
        rated(record("answered", 5, 60, agent="Agent 2", at=MORNING + 60), "basically_satisfied"),
        rated(record("answered", 8, 60, agent="Agent 1", queue="hotline-complaint",
                     at=MORNING + 120), "dissatisfied"),
        rated(record("answered", 2, 60, agent="Agent 2", at=MORNING + 180), "none"),
        rated(record("abandoned", 30, at=MORNING + 240)),
        rated(record("ivr_hangup", at=MORNING + 300), incident_id="INC-water-1"),
        # A transferred call: both legs carry the call's one answer.
        rated(record("transferred", 4, 30, agent="Agent 1", uniqueid=x, leg=0,
                     at=MORNING + 360), "dissatisfied"),
        rated(record("answered", 6, 90, agent="Agent 3", uniqueid=x, leg=1,
                     queue="hotline-complaint", at=MORNING + 400), "dissatisfied"),
    ]  # fmt: skip


def values(figure_set: dict[str, Any], *names: str) -> tuple[Any, ...]:
    return tuple(figure_set[name].value for name in names)


def test_hotline_satisfaction_counts_each_rated_call_once() -> None:
    report = compute(surveyed_day())
    sat = report.totals["satisfaction"]
    # Rated calls: satisfied, basically satisfied, dissatisfied, the transferred call (4).
    # "none" is counted apart and is not in the denominator.
    assert (sat.numerator, sat.denominator, sat.value) == (2, 4, 0.5)
    assert sat.label_zh == "满意率" and sat.unit == "ratio"
    assert sat.formula == "(satisfied + basically satisfied) ÷ rated surveys"
    assert values(report.totals, "surveys_rated", "dissatisfied", "surveys_unrated") == (4, 2, 1)
    [day] = report.by_day.values()
    assert values(day, "satisfaction", "surveys_rated") == (0.5, 4)


def test_queue_and_agent_satisfaction_count_answered_legs() -> None:
    report = compute(surveyed_day())
    general, complaint = report.by_queue["hotline-general"], report.by_queue["hotline-complaint"]
    # general: satisfied, basically satisfied, (none), the transfer's first leg dissatisfied.
    assert values(general, "satisfaction", "surveys_rated", "surveys_unrated") == (
        pytest.approx(2 / 3), 3, 1,
    )  # fmt: skip
    assert values(complaint, "satisfaction", "surveys_rated") == (0.0, 2)
    agents = report.by_agent
    assert values(agents["Agent 1"], "satisfaction", "surveys_rated") == (pytest.approx(1 / 3), 3)
    assert values(agents["Agent 2"], "satisfaction", "surveys_rated", "surveys_unrated") == (
        1.0, 1, 1,
    )  # fmt: skip
    assert values(agents["Agent 3"], "satisfaction", "surveys_rated") == (0.0, 1)


def test_deflected_calls_are_counted_from_incident_ids() -> None:
    report = compute(surveyed_day())
    assert report.totals["deflected"].value == 1
    assert report.totals["deflected"].label_zh == "重大故障并单"
    # The deflected caller hung up in the IVR: no queue saw the call.
    assert all(q["deflected"].value == 0 for q in report.by_queue.values())
    assert report.rejected == []


def test_no_surveys_means_no_satisfaction_rate() -> None:
    report = compute([record("answered", 3, 60), rated(record("answered", 3, 60), "none")])
    sat = report.totals["satisfaction"]
    assert (sat.value, sat.denominator) == (None, 0)
    assert report.totals["surveys_unrated"].value == 1


def test_an_unknown_survey_answer_rejects_the_record_with_a_reason() -> None:
    report = compute([rated(record("answered", 3, 60), "great")])
    assert [r.reason for r in report.rejected] == ["unknown survey answer 'great'"]


def with_surveys(seed: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """A random day; some callers rated the call, some were merged into an incident."""
    rng = random.Random(seed)
    records = random_day(seed, calls=150)
    answers: dict[str, str] = {}
    for item in records:
        if item["linkedid"] not in answers and rng.random() < 0.6:
            answers[item["linkedid"]] = rng.choice(
                ["satisfied", "basically_satisfied", "dissatisfied", "none"]
            )
        if item["outcome"] == "ivr_hangup" and rng.random() < 0.5:
            item["incident_id"] = "INC-1"
    return records, answers


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_live_surveys_after_their_records_equal_compute(seed: int) -> None:
    records, answers = with_surveys(seed)
    params = KpiParams(wrap_up_s=10)
    windows = [(DAY_START + 5 * 3600, DAY_START + 6 * 3600, "fault")]
    live = LiveKpi(params, windows, clock=Clock(DAY_END - 1))
    rng = random.Random(seed)
    pending = list(answers.items())
    rng.shuffle(pending)
    surveyed: dict[str, str] = {}
    for item in records:
        live.add(item)
        # Surveys come in late and out of order; some before their call's next leg.
        while pending and rng.random() < 0.5:
            linkedid, answer = pending.pop()
            live.add_survey(answer, linkedid)
            surveyed[linkedid] = answer
    for linkedid, answer in pending:
        live.add_survey(answer, linkedid)
        surveyed[linkedid] = answer
    assert surveyed == answers
    expected = compute([{**r, "survey": answers.get(r["linkedid"])} for r in records], params,
                       windows)  # fmt: skip
    assert live.snapshot().to_json() == expected.to_json()
    # Not trivially equal: ratings and deflections in every breakdown, and an excluded hour.
    totals = expected.totals
    assert (totals["surveys_rated"].value or 0) > 50 and (totals["deflected"].value or 0) > 0
    assert 0 < (totals["satisfaction"].value or 0) < 1 and expected.excluded.calls > 0
    assert all(f["surveys_rated"].value for f in expected.by_agent.values())


def test_live_survey_before_the_record_counts_when_the_record_arrives() -> None:
    item = record("answered", 3, 60, at=MORNING)
    live = LiveKpi(clock=Clock(DAY_END - 1))
    assert not live.add_survey("dissatisfied", item["linkedid"])
    assert live.snapshot().totals["surveys_rated"].value == 0
    live.add(item)
    assert live.snapshot().to_json() == compute([rated(item, "dissatisfied")]).to_json()


def test_the_first_answer_wins_and_records_carrying_one_count_it() -> None:
    live = LiveKpi(clock=Clock(DAY_END - 1))
    # After a restart the stored records carry their survey (calls_between joins it).
    item = rated(record("answered", 3, 60, at=MORNING), "satisfied")
    live.add(item)
    assert not live.add_survey("dissatisfied", item["linkedid"])
    assert values(live.snapshot().totals, "satisfaction", "surveys_rated") == (1.0, 1)
    assert live.snapshot().to_json() == compute([item]).to_json()


def test_a_survey_without_a_call_counts_for_today_only() -> None:
    live = LiveKpi(clock=Clock(DAY_END - 1))
    live.add(record("answered", 3, 60, at=MORNING))
    assert live.add_survey("basically_satisfied")
    assert live.add_survey("dissatisfied")
    report = live.snapshot()
    assert values(report.totals, "satisfaction", "surveys_rated") == (0.5, 2)
    assert values(report.by_day[live.day], "satisfaction", "surveys_rated") == (0.5, 2)
    assert all(q["surveys_rated"].value == 0 for q in report.by_queue.values())
    # A recount (a new exclusion window) keeps them.
    live.set_exclusions([])
    assert live.snapshot().to_json() == report.to_json()
    with pytest.raises(ValueError, match="unknown survey answer"):
        live.add_survey("great")


def test_a_survey_of_an_excluded_call_is_left_out_with_it() -> None:
    item = record("answered", 3, 60, at=MORNING)
    live = LiveKpi(exclusions=[(MORNING - 60, MORNING + 60, "fault")], clock=Clock(DAY_END - 1))
    live.add(item)
    assert not live.add_survey("satisfied", item["linkedid"])
    assert live.snapshot().totals["surveys_rated"].value == 0
