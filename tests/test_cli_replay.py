"""`hotline replay`: the records of any capture, as operators backfill from AMI logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli import cli
from tests.captures import CAPTURES, capture_names, load_expected


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
