"""Every formula against a small record set whose figures were worked out by hand."""

from __future__ import annotations

import pytest

from acd.kpi import KpiParams, compute
from tests.acd.kpi_builders import record


def mixed_day() -> list[dict[str, object]]:
    """Nine calls: 3 answered, 3 abandoned (2 short), 1 timeout, 1 join rejection, 1 IVR."""
    return [
        record("answered", 3, 60, agent="a1"),  # A
        record("answered", 15, 120, agent="a2"),  # B: exactly 15 s is timely
        record("answered", 16, 30, agent="a1"),  # C: 16 s is late
        record("abandoned", 4),  # D: short
        record("abandoned", 5),  # E: exactly 5 s is short
        record("abandoned", 40),  # F
        record("timeout", 60, rings=("a1", "a2")),  # G
        record("joinempty", 0, queue="hotline-report"),  # H
        record("ivr_hangup"),  # I
    ]


def test_counts() -> None:
    totals = compute(mixed_day()).totals
    values = {name: totals[name].value for name in totals if totals[name].unit == "count"}
    assert values == {
        "offered": 8,  # A-H; the IVR hang-up never asked for an agent
        "answered": 3,
        "answered_within": 2,
        "abandoned": 3,
        "short_abandons": 2,
        "timeouts": 1,
        "join_rejections": 1,
        "ivr_hangups": 1,
        "transfers": 0,
        "ring_no_answer": 2,
        # No surveys, no incident reports that day.
        "surveys_rated": 0,
        "dissatisfied": 0,
        "surveys_unrated": 0,
        "deflected": 0,
    }


def test_answer_timeliness() -> None:
    figure = compute(mixed_day()).totals["answer_timeliness"]
    assert (figure.numerator, figure.denominator) == (2, 3)
    assert figure.value == pytest.approx(2 / 3)
    assert figure.formula == "answered ≤ 15 s ÷ answered"
    assert figure.target == 0.80
    assert figure.meets_target is False
    assert figure.label_zh == "人工应答及时率"
    assert figure.unit == "ratio"


def test_connect_rate_leaves_short_abandons_out_of_offered_when_asked() -> None:
    params = KpiParams(connect_excludes_short_abandons=True)
    figure = compute(mixed_day(), params).totals["connect_rate"]
    assert (figure.numerator, figure.denominator) == (3, 8 - 2)
    assert figure.value == 0.5
    assert figure.formula == "answered ÷ (offered − short abandons)"
    assert (figure.target, figure.meets_target) == (0.95, False)


def test_connect_rate_is_answered_over_offered_by_default() -> None:
    figure = compute(mixed_day()).totals["connect_rate"]
    assert (figure.numerator, figure.denominator, figure.value) == (3, 8, 3 / 8)
    assert figure.formula == "answered ÷ offered"


def test_abandon_rate() -> None:
    figure = compute(mixed_day()).totals["abandon_rate"]
    assert (figure.numerator, figure.denominator) == (3 - 2, 8)
    assert figure.value == 0.125
    assert figure.target is None and figure.meets_target is None


def test_asa_aht_longest_wait() -> None:
    totals = compute(mixed_day()).totals
    assert (totals["asa"].numerator, totals["asa"].denominator) == (3 + 15 + 16, 3)
    assert totals["asa"].value == pytest.approx(34 / 3)
    assert totals["asa"].unit == "s"
    assert (totals["aht"].numerator, totals["aht"].denominator) == (210, 3)
    assert totals["aht"].value == 70
    assert totals["longest_wait"].value == 60  # the timed-out caller


def test_wrap_up_is_added_to_every_handling() -> None:
    aht = compute(mixed_day(), KpiParams(wrap_up_s=10)).totals["aht"]
    assert aht.value == (60 + 120 + 30 + 3 * 10) / 3
    assert "10 s wrap-up" in aht.formula


def test_threshold_and_targets_are_parameters() -> None:
    params = KpiParams(
        answer_threshold_s=20,
        timeliness_target=0.9,
        short_abandon_s=4,
        connect_excludes_short_abandons=True,
    )
    totals = compute(mixed_day(), params).totals
    assert totals["answered_within"].value == 3
    assert totals["answer_timeliness"].value == 1.0
    assert totals["answer_timeliness"].meets_target is True
    assert totals["answer_timeliness"].formula == "answered ≤ 20 s ÷ answered"
    assert totals["short_abandons"].value == 1  # only the 4 s one
    assert totals["connect_rate"].denominator == 8 - 1


def test_short_abandons_switched_off() -> None:
    records = [record("abandoned", 0), record("answered", 1, 10)]
    totals = compute(records, KpiParams(short_abandon_s=0)).totals
    assert totals["short_abandons"].value == 0
    assert totals["abandon_rate"].value == 0.5
    assert totals["connect_rate"].value == 0.5


def test_per_queue_and_per_agent() -> None:
    report = compute(mixed_day())
    assert sorted(report.by_queue) == ["hotline-general", "hotline-report"]
    general = report.by_queue["hotline-general"]
    assert general["offered"].value == 7
    assert general["connect_rate"].value == 3 / 7
    report_queue = report.by_queue["hotline-report"]
    assert report_queue["offered"].value == 1
    assert report_queue["connect_rate"].value == 0.0
    assert report_queue["asa"].value is None
    a1, a2 = report.by_agent["a1"], report.by_agent["a2"]
    assert (a1["answered"].value, a1["answered_within"].value) == (2, 1)
    assert a1["answer_timeliness"].value == 0.5
    assert a1["asa"].value == (3 + 16) / 2
    assert a1["aht"].value == (60 + 30) / 2
    assert a1["longest_wait"].value == 16
    assert a1["ring_no_answer"].value == 1
    assert (a2["answered"].value, a2["answer_timeliness"].value) == (1, 1.0)
    assert "offered" not in a1 and "connect_rate" not in a1


def test_no_calls_gives_no_rates() -> None:
    report = compute([])
    totals = report.totals
    assert totals["offered"].value == 0
    for name in ("answer_timeliness", "connect_rate", "abandon_rate", "asa", "aht"):
        assert totals[name].value is None, name
        assert totals[name].meets_target is None, name
    assert totals["longest_wait"].value is None
    assert (report.by_queue, report.by_agent, report.by_hour, report.by_day) == ({}, {}, {}, {})
    assert report.calls == report.legs == report.records == 0


def test_all_abandoned() -> None:
    records = [record("abandoned", 10), record("abandoned", 20), record("abandoned", 2)]
    totals = compute(records).totals
    assert totals["answered"].value == 0
    assert totals["answer_timeliness"].value is None  # 0 ÷ 0 is not 0 %
    assert totals["connect_rate"].value == 0.0
    assert totals["connect_rate"].meets_target is False
    assert totals["abandon_rate"].value == 2 / 3
    assert totals["asa"].value is None and totals["aht"].value is None
    assert totals["longest_wait"].value == 20


def test_only_short_abandons_leave_connect_rate_undefined_when_excluded() -> None:
    params = KpiParams(connect_excludes_short_abandons=True)
    totals = compute([record("abandoned", 1), record("abandoned", 3)], params).totals
    assert totals["connect_rate"].denominator == 0
    assert totals["connect_rate"].value is None
    assert totals["abandon_rate"].value == 0.0


def test_report_json_carries_formula_numerator_denominator_target() -> None:
    data = compute(mixed_day()).to_json()
    figure = data["totals"]["answer_timeliness"]
    assert figure == {
        "name": "answer_timeliness",
        "label_en": "answer timeliness",
        "label_zh": "人工应答及时率",
        "value": 2 / 3,
        "numerator": 2,
        "denominator": 3,
        "formula": "answered ≤ 15 s ÷ answered",
        "unit": "ratio",
        "target": 0.8,
        "meets_target": False,
    }
    assert data["counts"] == {"records": 9, "calls": 9, "legs": 9, "undated_calls": 0}
    assert data["params"]["answer_threshold_s"] == 15
    assert set(data) >= {"by_queue", "by_agent", "by_hour", "by_day", "excluded", "rejected"}


def test_params_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="timezone"):
        KpiParams(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="connect_target"):
        KpiParams(connect_target=95)
    with pytest.raises(ValueError, match="answer_threshold_s"):
        KpiParams(answer_threshold_s=0)


def test_params_mirror_the_settings() -> None:
    from hotline.settings import KpiSettings

    settings = KpiSettings(answer_threshold_s=20, short_abandon_s=3, timezone="UTC")
    params = KpiParams.from_settings(settings, wrap_up_s=30)
    assert (params.answer_threshold_s, params.short_abandon_s) == (20, 3)
    assert (params.timezone, params.wrap_up_s) == ("UTC", 30)
    assert (params.timeliness_target, params.connect_target) == (0.80, 0.95)
