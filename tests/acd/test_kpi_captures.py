"""The figures of the real Asterisk captures' own calls (expected.json), worked out by hand.

The captures (see ../shared/fixtures/asterisk/README.md), by call:
  answered_fast   answered, wait 3, talk 9, Robot Agent 1
  answered_slow   answered, wait 2, talk 18, RA1; answered, wait 19, talk 18, RA1
  ring_no_answer  answered, wait 20, talk 9, Robot Agent 2 (RA1 rang, no answer)
  abandoned       abandoned, wait 12 (23:xx local)
  queue_timeout   timeout, wait 20 (RA1 and RA2 rang, no answer)
  joinempty       joinempty, hotline-report, wait 0
  ivr_hangup      two IVR hang-ups, no timestamps
  member_ops      answered, wait 7, talk 12, Robot Agent 3
  spy_and_record  answered, wait 2, talk 31, RA1
  transfer        two calls: general transferred (wait 2, talk 5, RA1) then complaint
                  answered (wait 3, talk 12, RA3)
  sip_call        answered, wait 2, talk 8, SIP Agent 1 (23:xx local)
"""

from __future__ import annotations

from typing import Any

import pytest

from acd.kpi import compute
from tests.captures import capture_names, load_expected

NAMES = (
    "abandoned",
    "answered_fast",
    "answered_slow",
    "ivr_hangup",
    "joinempty",
    "member_ops",
    "queue_timeout",
    "ring_no_answer",
    "sip_call",
    "spy_and_record",
    "transfer",
)


def capture_records() -> list[dict[str, Any]]:
    return [record for name in NAMES for record in load_expected(name)]


def test_capture_totals() -> None:
    report = compute(capture_records())
    assert report.rejected == []
    assert (report.records, report.legs, report.calls, report.undated_calls) == (16, 16, 14, 2)
    t = report.totals
    assert t["offered"].value == 12  # 14 calls less the 2 IVR hang-ups
    assert t["answered"].value == 9
    # ≤ 15 s: fast 3, slow 2, member_ops 7, sip 2, spy 2, both transfers 2; not: 19, 20.
    assert t["answered_within"].value == 7
    assert t["answer_timeliness"].value == pytest.approx(7 / 9)
    assert t["answer_timeliness"].meets_target is False
    assert (t["abandoned"].value, t["short_abandons"].value) == (1, 0)
    assert (t["timeouts"].value, t["join_rejections"].value) == (1, 1)
    assert t["ivr_hangups"].value == 2
    assert (t["connect_rate"].numerator, t["connect_rate"].denominator) == (9, 12)
    assert t["abandon_rate"].value == pytest.approx(1 / 12)
    assert t["asa"].numerator == 3 + 2 + 19 + 20 + 7 + 2 + 2 + 2 + 2
    assert t["asa"].value == pytest.approx(59 / 9)
    assert t["aht"].numerator == 9 + 18 + 18 + 9 + 12 + 31 + 8 + (5 + 12) * 2
    assert t["aht"].value == pytest.approx(139 / 9)
    assert t["longest_wait"].value == 20
    assert t["transfers"].value == 2
    assert t["ring_no_answer"].value == 3


def test_capture_breakdowns() -> None:
    report = compute(capture_records())
    assert sorted(report.by_queue) == ["hotline-complaint", "hotline-general", "hotline-report"]
    general = report.by_queue["hotline-general"]
    assert (general["offered"].value, general["answered"].value) == (11, 9)
    assert general["answered_within"].value == 7
    assert general["transfers"].value == 2
    complaint = report.by_queue["hotline-complaint"]
    assert (complaint["offered"].value, complaint["asa"].value, complaint["aht"].value) == (
        2,
        3,
        12,
    )
    assert report.by_queue["hotline-report"]["connect_rate"].value == 0.0
    agents = {name: figures["answered"].value for name, figures in report.by_agent.items()}
    assert agents == {"Robot Agent 1": 6, "Robot Agent 2": 1, "Robot Agent 3": 3, "SIP Agent 1": 1}
    assert report.by_agent["Robot Agent 1"]["ring_no_answer"].value == 2
    assert report.by_agent["Robot Agent 2"]["ring_no_answer"].value == 1
    # Captured on 23 November 2026 between 22:4x and 23:2x Shanghai time.
    assert list(report.by_day) == ["2026-11-23"]
    assert report.by_day["2026-11-23"]["offered"].value == 12
    late, later = report.by_hour["2026-11-23T22:00+08:00"], report.by_hour["2026-11-23T23:00+08:00"]
    assert (late["offered"].value, late["answered"].value, late["answered_within"].value) == (
        10,
        8,
        6,
    )
    assert (later["offered"].value, later["answered"].value, later["abandoned"].value) == (2, 1, 1)


@pytest.mark.parametrize("name", capture_names())
def test_every_capture_is_usable(name: str) -> None:
    """Also the held-back captures: every record counts, and the outcomes add up."""
    records = load_expected(name)
    report = compute(records)
    assert report.rejected == []
    count = {name: int(figure.value or 0) for name, figure in report.totals.items()}
    assert count["offered"] + count["ivr_hangups"] == report.calls
    outcomes = ("answered", "abandoned", "timeouts", "join_rejections")
    assert sum(count[name] for name in outcomes) == count["offered"]
    queue_legs = sum(1 for record in records if record["queue"] is not None)
    assert sum(int(q["offered"].value or 0) for q in report.by_queue.values()) == queue_legs
