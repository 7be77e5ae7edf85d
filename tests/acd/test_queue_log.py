"""queue_log parsing, legs derived from it, and tailing the file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from acd.queue_log import (
    QueueLogError,
    QueueLogTail,
    legs_from_queue_log,
    parse_line,
    parse_lines,
    read_queue_log,
)
from tests.captures import CAPTURES, capture_names, load_expected

LEG_FIELDS = (
    "uniqueid",
    "queue",
    "outcome",
    "wait_s",
    "talk_s",
    "answered_by",
    "hangup_by",
    "ring_no_answer",
)


@pytest.mark.parametrize("name", capture_names())
def test_legs_match_expected(name: str) -> None:
    legs = legs_from_queue_log(read_queue_log(CAPTURES / name / "queue_log"))
    got = [
        {
            "uniqueid": leg.callid,
            "queue": leg.queue,
            "outcome": leg.outcome,
            "wait_s": leg.wait_s,
            "talk_s": leg.talk_s,
            "answered_by": leg.answered_by,
            "hangup_by": leg.hangup_by,
            "ring_no_answer": leg.ring_no_answer,
        }
        for leg in sorted(legs, key=lambda leg: (leg.callid, leg.leg))
    ]
    expected = [e for e in load_expected(name) if e["queue"] is not None]
    expected.sort(key=lambda e: e["uniqueid"])  # stable: legs of one call stay in order
    assert got == [{k: e[k] for k in LEG_FIELDS} for e in expected]
    for leg in legs:
        assert leg.closed and leg.entered_at <= (leg.ended_at or 0)
        assert leg.entered_at == int(
            next(
                e["queue_entered_at"]
                for e in expected
                if e["uniqueid"] == leg.callid and e["queue"] == leg.queue
            )
        )


def test_redirected_leg_uses_time_until_the_next_queue() -> None:
    legs = legs_from_queue_log(read_queue_log(CAPTURES / "transfer" / "queue_log"))
    redirected = [leg for leg in legs if leg.redirected]
    assert len(redirected) == 1
    # queue_log's own COMPLETECALLER says 20 s (it includes the second queue).
    assert redirected[0].talk_s == 5 and redirected[0].outcome == "transferred"


def test_typed_fields_and_our_own_events() -> None:
    entries = read_queue_log(CAPTURES / "queue_timeout" / "queue_log")
    assert [e.event for e in entries] == [
        "ENTERQUEUE",
        "RINGNOANSWER",
        "RINGNOANSWER",
        "EXITWITHTIMEOUT",
        "CALLBACKREQ",
    ]
    assert entries[0].get("callerid") == "13300133001"
    assert entries[1].get_int("ringtime_ms") == 15000
    assert entries[3].get_int("waittime") == 20
    assert entries[4].get("callernum") == "13300133001"
    assert entries[0].get("nonsense") is None
    (leg,) = legs_from_queue_log(entries)
    assert leg.callback_requested and leg.caller_num == "13300133001"
    members = read_queue_log(CAPTURES / "member_ops" / "queue_log")
    assert not members[0].is_call and members[0].get("paused") == "PAUSED"
    assert members[2].event == "PAUSEALL" and members[2].get("reason") == "培训 training"
    transfer = parse_line("1|c|q|A|ATTENDEDTRANSFER|BRIDGE|b1|3|7|1")
    assert transfer.get_int("holdtime") == 3 and transfer.get_int("calltime") == 7
    line = "1795445602|1795445593.1|hotline-general|Robot Agent 1|BLINDTRANSFER|complaint|x|2|5|1"
    assert parse_line(line).to_line() == line


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "garbage",
        "1|2|3|4",
        "notanumber|c|q|a|ENTERQUEUE",
        "12|c|q|a|",
        "12|c|q|a|enter queue",
    ],
)
def test_bad_lines_raise(bad: str) -> None:
    with pytest.raises(QueueLogError):
        parse_line(bad)


def test_garbage_lines_are_skipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    good = (CAPTURES / "answered_fast" / "queue_log").read_text("utf-8").splitlines()
    lines = ["\x00\x01binary", good[0], "", "half|a|line", good[1], "x|y|z|w|CONNECT", good[2]]
    with caplog.at_level(logging.WARNING, logger="acd.queue_log"):
        entries = parse_lines(lines)
    assert [e.to_line() for e in entries] == good
    assert len([r for r in caplog.records if "skipped" in r.getMessage()]) == 3
    (leg,) = legs_from_queue_log(entries)
    assert leg.outcome == "answered" and leg.talk_s == 9


def test_tail_reads_only_new_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    lines = (CAPTURES / "transfer" / "queue_log").read_text("utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:3]), "utf-8")
    tail = QueueLogTail(path)
    assert [e.event for e in tail.read_new()] == ["ENTERQUEUE", "CONNECT", "BLINDTRANSFER"]
    assert tail.read_new() == []
    # A line being written is not consumed until its newline arrives.
    with path.open("a", encoding="utf-8") as fh:
        fh.write(lines[3] + lines[4][:10])
    assert [e.event for e in tail.read_new()] == ["ENTERQUEUE"]
    with path.open("a", encoding="utf-8") as fh:
        fh.write(lines[4][10:])
    assert [e.event for e in tail.read_new()] == ["CONNECT"]
    # Resume from a saved position in a new tail (service restart).
    saved = tail.position
    with path.open("a", encoding="utf-8") as fh:
        fh.write(lines[5])
    again = QueueLogTail(path, saved)
    assert [e.event for e in again.read_new()] == ["COMPLETEAGENT"]


def test_tail_handles_truncation_and_rotation(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    lines = (CAPTURES / "answered_slow" / "queue_log").read_text("utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:4]), "utf-8")
    tail = QueueLogTail(path)
    assert len(tail.read_new()) == 4
    # Truncated in place (logrotate copytruncate): read from the start again.
    path.write_text(lines[4], "utf-8")
    assert [e.to_line() + "\n" for e in tail.read_new()] == [lines[4]]
    # Rotated by rename: the rest of the old file first, then the new file.
    with path.open("a", encoding="utf-8") as fh:
        fh.write(lines[5])
    path.rename(tmp_path / "queue_log.1")
    path.write_text(lines[0], "utf-8")
    assert [e.to_line() + "\n" for e in tail.read_new()] == [lines[5], lines[0]]
    # A missing file is not an error (Asterisk not started yet).
    path.unlink()
    assert tail.read_new() == []


# A blind transfer on the real Asterisk 22.10.1 (tests/pbx/test_scenarios.py): agent3 sends the
# caller from the report queue to the general one. app_queue logs the BLINDTRANSFER and the next
# queue's ENTERQUEUE in the same second, in either order; both orders were seen.
REAL_TRANSFER = """\
1796258507|1796258485.21|hotline-report|NONE|ENTERQUEUE||13900000104|1
1796258508|1796258485.21|hotline-report|agent3|CONNECT|1|1796258507.28|1
1796258510|1796258485.21|hotline-report|agent3|BLINDTRANSFER|general|hotline-transfer|1|2|1
1796258510|1796258485.21|hotline-general|NONE|ENTERQUEUE||13900000104|1
1796258515|1796258485.21|hotline-general|agent1|CONNECT|5|1796258513.34|2
1796258518|1796258485.21|hotline-general|agent1|COMPLETEAGENT|5|3|1
""".splitlines()


@pytest.mark.parametrize("swap", [False, True], ids=["transfer-first", "enterqueue-first"])
def test_a_blind_transfer_logged_after_the_next_enterqueue_still_closes_its_leg(
    swap: bool,
) -> None:
    lines = list(REAL_TRANSFER)
    if swap:
        lines[2], lines[3] = lines[3], lines[2]
    first, second = legs_from_queue_log(parse_lines(lines))
    assert (first.queue, first.outcome, first.answered_by) == (
        "hotline-report",
        "transferred",
        "agent3",
    )
    # the transfer's own line: 1 s waited, 2 s of talk, sent to general@hotline-transfer
    assert (first.wait_s, first.talk_s, first.ended_at) == (1, 2, 1796258510)
    assert first.transfer_to == "general@hotline-transfer"
    assert (second.queue, second.outcome, second.answered_by, second.talk_s) == (
        "hotline-general",
        "answered",
        "agent1",
        3,
    )


def test_a_transfer_back_into_the_same_queue_closes_the_first_leg() -> None:
    lines = [
        line.replace("hotline-report", "hotline-general") for line in REAL_TRANSFER[:3]
    ] + REAL_TRANSFER[3:]
    lines[2], lines[3] = lines[3], lines[2]
    first, second = legs_from_queue_log(parse_lines(lines))
    assert (first.outcome, first.answered_by, first.talk_s) == ("transferred", "agent3", 2)
    assert (second.outcome, second.answered_by, second.wait_s) == ("answered", "agent1", 5)
