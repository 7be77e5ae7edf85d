"""Several Asterisks: the same uniqueid on two PBXs is two calls; totals sum the PBXs."""

from __future__ import annotations

from acd.kpi import compute
from tests.acd.kpi_builders import record


def on(pbx: str, rec: dict[str, object]) -> dict[str, object]:
    return {**rec, "pbx": pbx}


def test_same_uniqueid_on_two_pbxs_is_two_calls_and_totals_sum_them() -> None:
    records = [
        on("east", record("answered", 3, 30, uniqueid="1795440000.1")),
        on("west", record("answered", 20, 60, uniqueid="1795440000.1")),
        on("west", record("abandoned", 30, uniqueid="1795440000.2")),
    ]
    report = compute(records)
    assert report.rejected == []
    assert (report.calls, report.totals["offered"].value, report.totals["answered"].value) == (
        3,
        3,
        2,
    )
    assert sorted(report.by_pbx) == ["east", "west"]
    east, west = report.by_pbx["east"], report.by_pbx["west"]
    assert (east["offered"].value, east["answer_timeliness"].value) == (1, 1.0)
    assert (west["offered"].value, west["answered"].value, west["abandoned"].value) == (2, 1, 1)
    # Each figure's numerator and denominator are the sum of the PBXs'.
    for name in ("offered", "answered", "answered_within", "abandoned"):
        assert report.totals[name].value == east[name].value + west[name].value
    assert report.to_json()["by_pbx"]["west"]["offered"]["value"] == 2


def test_a_replayed_leg_of_one_pbx_is_still_a_duplicate() -> None:
    leg = on("east", record("answered", 3, 30, uniqueid="1795440000.1"))
    report = compute([leg, dict(leg)])
    assert report.calls == 1 and len(report.rejected) == 1


def test_records_without_a_pbx_have_no_per_pbx_breakdown() -> None:
    # expected.json entries and records stored before calls carried their PBX.
    report = compute([record("answered", 3, 30)])
    assert report.by_pbx == {}
