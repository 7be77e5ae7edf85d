"""Records the KPIs cannot use are listed with a reason and logged; nothing else is lost."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from acd.kpi import compute
from tests.acd.kpi_builders import MORNING, record


def test_unusable_records_are_rejected_with_reasons(caplog: pytest.LogCaptureFixture) -> None:
    good = [record("answered", 4, 30), record("abandoned", 20)]
    bad: list[Any] = [
        {**record("answered", 4, 30), "outcome": "bogus"},
        {**record("abandoned", 4), "wait_s": "12"},
        {**record("abandoned", 4), "wait_s": -3},
        {**record("abandoned", 4), "wait_s": True},
        {**record("answered", 4, None), "answered_at": None},
        {**record("answered", 4, 30), "queue": None},
        {**record("answered", 4, 30), "ring_no_answer": "Agent 2"},
        None,
    ]
    caplog.set_level(logging.WARNING, "acd.kpi")
    report = compute([*good[:1], *bad, *good[1:]])
    reasons = [item.reason for item in report.rejected]
    assert reasons == [
        "unknown outcome 'bogus'",
        "wait_s is not a number: '12'",
        "wait_s is negative or not finite: -3",
        "wait_s is not a number: True",
        "outcome answered without talk_s",
        "outcome answered without a queue",
        "ring_no_answer is not a list of names: 'Agent 2'",
        "not a record object: NoneType",
    ]
    assert report.records == 10
    assert (report.calls, report.totals["offered"].value) == (2, 2)
    assert report.totals["connect_rate"].value == 0.5
    assert len([r for r in caplog.records if "left out" in r.getMessage()]) == len(bad)
    assert report.to_json()["rejected"][0]["key"] == bad[0]["key"]


def test_a_replayed_record_counts_once() -> None:
    answered = record("answered", 4, 30)
    report = compute([answered, dict(answered), record("abandoned", 9)])
    assert report.totals["offered"].value == 2
    assert [item.reason for item in report.rejected] == [
        "duplicate of an earlier record (same call and leg)"
    ]
    assert report.rejected[0].key == answered["key"]


def test_missing_wait_and_talk_come_from_the_timestamps() -> None:
    answered = {
        **record("answered", None, None),
        "queue_entered_at": MORNING,
        "answered_at": MORNING + 12.7,
        "ended_at": MORNING + 72.9,
    }
    totals = compute([answered]).totals
    assert totals["asa"].value == 12  # whole seconds, as queue_log counts them
    assert totals["aht"].value == 60
    assert totals["answer_timeliness"].value == 1.0


def test_a_join_rejection_without_wait_waited_zero() -> None:
    totals = compute([record("joinempty", None, queue="hotline-report")]).totals
    assert totals["join_rejections"].value == 1
    assert totals["longest_wait"].value == 0
