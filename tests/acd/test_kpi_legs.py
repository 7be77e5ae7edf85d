"""How transferred calls count: once hotline-wide, once per queue leg per queue."""

from __future__ import annotations

from acd.kpi import compute
from tests.acd.kpi_builders import MORNING, record


def transferred_calls() -> list[dict[str, object]]:
    x, y = "1795440100.1", "1795440200.1"
    return [
        record("transferred", 2, 5, agent="a1", uniqueid=x, leg=0, at=MORNING),
        record("answered", 3, 12, agent="a3", uniqueid=x, leg=1, queue="hotline-complaint",
               at=MORNING + 10),
        record("transferred", 20, 10, agent="a1", uniqueid=y, leg=0, at=MORNING + 60),
        record("abandoned", 8, uniqueid=y, leg=1, queue="hotline-complaint", at=MORNING + 95),
    ]  # fmt: skip


def test_hotline_totals_count_each_call_once() -> None:
    report = compute(transferred_calls())
    totals = report.totals
    assert (report.calls, report.legs) == (2, 4)
    assert totals["offered"].value == 2
    # Y was answered by a1 before the caller gave up in the second queue: it was answered.
    assert totals["answered"].value == 2
    assert totals["abandoned"].value == 0
    assert totals["transfers"].value == 2
    # The wait until the first answer: 2 s (X) and 20 s (Y).
    assert totals["answered_within"].value == 1
    assert totals["asa"].value == (2 + 20) / 2
    # Handle time of a call is every agent's talk on it: X 5 + 12, Y 10.
    assert totals["aht"].numerator == 5 + 12 + 10
    assert totals["aht"].value == 27 / 2
    assert totals["longest_wait"].value == 20
    assert totals["connect_rate"].value == 1.0


def test_per_queue_figures_count_legs() -> None:
    by_queue = compute(transferred_calls()).by_queue
    general, complaint = by_queue["hotline-general"], by_queue["hotline-complaint"]
    assert (general["offered"].value, general["answered"].value) == (2, 2)
    assert general["transfers"].value == 2
    assert general["asa"].value == 11
    assert general["aht"].value == (5 + 10) / 2
    assert (complaint["offered"].value, complaint["answered"].value) == (2, 1)
    assert complaint["abandoned"].value == 1
    assert complaint["abandon_rate"].value == 0.5
    assert complaint["connect_rate"].value == 0.5
    assert complaint["asa"].value == 3
    assert complaint["longest_wait"].value == 8


def test_per_agent_figures_count_the_legs_each_answered() -> None:
    by_agent = compute(transferred_calls()).by_agent
    assert by_agent["a1"]["answered"].value == 2
    assert by_agent["a1"]["transfers"].value == 2
    assert by_agent["a3"]["answered"].value == 1
    assert by_agent["a3"]["aht"].value == 12


def test_leg_order_comes_from_the_leg_number_not_the_input_order() -> None:
    forward = compute(transferred_calls()).to_json()
    backward = compute(list(reversed(transferred_calls()))).to_json()
    assert backward["totals"] == forward["totals"]
    assert backward["by_queue"] == forward["by_queue"]


def test_unanswered_call_takes_the_outcome_of_its_last_queue() -> None:
    uid = "1795440300.1"
    records = [
        record("timeout", 30, uniqueid=uid, leg=0),
        record("abandoned", 7, uniqueid=uid, leg=1, queue="hotline-complaint", at=MORNING + 40),
    ]
    totals = compute(records).totals
    assert (totals["offered"].value, totals["abandoned"].value) == (1, 1)
    assert totals["timeouts"].value == 0
    assert totals["longest_wait"].value == 7
    by_queue = compute(records).by_queue
    assert by_queue["hotline-general"]["timeouts"].value == 1
