"""`hotline replay`: the records of any capture, as operators backfill from AMI logs."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from acd.ami.message import AmiMessage
from hotline.cli import cli
from tests.captures import CAPTURES, capture_names, load_expected, load_messages, raw_bytes


@pytest.mark.parametrize("name", capture_names())
@pytest.mark.parametrize("source", ["", "ami.jsonl", "ami.raw"])
def test_replay_prints_the_expected_calls(name: str, source: str) -> None:
    path = CAPTURES / name / source if source else CAPTURES / name
    result = CliRunner().invoke(cli, ["replay", str(path), "--expected-only"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert lines == load_expected(name)


def test_replay_full_records_carry_more_than_expected() -> None:
    result = CliRunner().invoke(cli, ["replay", str(CAPTURES / "answered_fast")])
    record = json.loads(result.stdout.splitlines()[0])
    assert record["key"] == "1795445274.1#0"
    assert record["answered_at"] > record["queue_entered_at"] > record["started_at"]
    assert record["ivr_choice"] == "1"


def test_replay_store_is_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'h.db'}")
    runner = CliRunner()
    first = runner.invoke(cli, ["replay", str(CAPTURES / "transfer"), "--store"])
    assert first.exit_code == 0, first.output
    assert "stored 4 new of 4 call legs" in first.stderr
    assert "connect_rate" in first.stderr
    again = runner.invoke(cli, ["replay", str(CAPTURES / "transfer" / "ami.raw"), "--store"])
    assert "stored 0 new of 4 call legs" in again.stderr


def test_replay_names_the_pbx_of_the_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "h.toml"
    config.write_text(
        '[[ami.servers]]\nname = "east"\nqueue_log = "/e/q"\ncdr_csv = "/e/c"\n'
        '[[ami.servers]]\nname = "west"\nqueue_log = "/w/q"\ncdr_csv = "/w/c"\n'
    )
    monkeypatch.setenv("HOTLINE_CONFIG", str(config))
    monkeypatch.setenv("HOTLINE_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'h.db'}")
    runner = CliRunner()
    first = runner.invoke(cli, ["replay", str(CAPTURES / "transfer"), "--store"])
    assert {json.loads(line)["pbx"] for line in first.stdout.splitlines()} == {"east"}
    # The same uniqueids recorded on the other Asterisk are other calls.
    west = runner.invoke(cli, ["replay", str(CAPTURES / "transfer"), "--store", "--pbx", "west"])
    assert {json.loads(line)["pbx"] for line in west.stdout.splitlines()} == {"west"}
    assert "stored 4 new of 4 call legs" in west.stderr
    unknown = runner.invoke(cli, ["replay", str(CAPTURES / "transfer"), "--pbx", "north"])
    assert unknown.exit_code == 2 and "no PBX named 'north'" in unknown.output


def test_replay_of_a_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["replay", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "no such file or folder" in result.output


def test_replay_skips_garbage_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = (CAPTURES / "abandoned" / "ami.jsonl").read_text("utf-8").splitlines()
    noisy = tmp_path / "ami.jsonl"
    noisy.write_text("\n".join([good[0], "{not json", '{"fields": 3}', *good[1:]]) + "\n")
    result = CliRunner().invoke(cli, ["replay", str(noisy), "--expected-only"])
    assert result.exit_code == 0
    assert [json.loads(x) for x in result.stdout.splitlines()] == load_expected("abandoned")
    skipped = [r.getMessage() for r in caplog.records if "not an AMI message" in r.getMessage()]
    assert len(skipped) == 2
    assert skipped[0].endswith(")") and ":2: skipped" in skipped[0]


def _replay_lines(path: Path) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["replay", str(path), "--expected-only"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _write_jsonl(path: Path, messages: list[AmiMessage]) -> Path:
    path.write_text(
        "".join(json.dumps({"fields": m.fields}, ensure_ascii=False) + "\n" for m in messages),
        "utf-8",
    )
    return path


def test_a_caller_name_in_gbk_is_read_not_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Chinese trunks may send the caller name in GBK: the call must still come out whole.
    raw = raw_bytes("answered_fast")
    assert "张三".encode() in raw
    gbk = tmp_path / "ami.raw"
    gbk.write_bytes(raw.replace("张三".encode(), "张三".encode("gbk")))
    with caplog.at_level(logging.WARNING, logger="acd.ami.framing"):
        assert _replay_lines(gbk) == load_expected("answered_fast")
    assert "GB18030" in caplog.text


def _shifted(messages: list[AmiMessage], seconds: float) -> list[AmiMessage]:
    return [
        AmiMessage(
            [(k, f"{float(v) + seconds:.6f}" if k == "Timestamp" else v) for k, v in m.fields]
        )
        for m in messages
    ]


def _merged_by_time(*streams: list[AmiMessage]) -> list[AmiMessage]:
    """Streams interleaved by Timestamp; an event without one keeps its place after the last."""
    timed: list[tuple[float, int, int, AmiMessage]] = []
    for number, stream in enumerate(streams):
        at = 0.0
        for index, message in enumerate(stream):
            stamp = message.get("Timestamp")
            at = float(stamp) if stamp else at
            timed.append((at, number, index, message))
    return [message for *_, message in sorted(timed, key=lambda t: t[:3])]


def test_replay_prints_calls_in_start_order_not_end_order(tmp_path: Path) -> None:
    # ivr_hangup's two calls, moved 60 s on, start after both answered_slow calls and end
    # before them: the tracker finishes them first, the output lists them last.
    slow = load_messages("answered_slow")
    ivr = _shifted(load_messages("ivr_hangup"), 60.0)
    path = _write_jsonl(tmp_path / "ami.jsonl", _merged_by_time(slow, ivr))
    expected = load_expected("answered_slow") + load_expected("ivr_hangup")
    assert _replay_lines(path) == expected
    # The other way round (ivr_hangup's calls first), the same rule gives the other order.
    early = _shifted(load_messages("ivr_hangup"), -60.0)
    path = _write_jsonl(tmp_path / "early.jsonl", _merged_by_time(slow, early))
    assert _replay_lines(path) == load_expected("ivr_hangup") + load_expected("answered_slow")


def test_replay_uses_the_configured_inbound_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Callers who hang up before the IVR's AGI starts are known by the context they enter.
    messages = [
        AmiMessage([(k, "citizen-in" if v == "hotline-ivr" else v) for k, v in m.fields])
        for m in load_messages("ivr_hangup")
        if m.get("Application") != "AGI" and not m.name.startswith(("AGIExec", "AsyncAGI"))
    ]
    path = _write_jsonl(tmp_path / "ami.jsonl", messages)
    assert _replay_lines(path) == []  # the default context: not a hotline call
    monkeypatch.setenv("HOTLINE_PBX__INBOUND_CONTEXT", "citizen-in")
    lines = _replay_lines(path)
    assert [(r["uniqueid"], r["outcome"]) for r in lines] == [
        (e["uniqueid"], e["outcome"]) for e in load_expected("ivr_hangup")
    ]
