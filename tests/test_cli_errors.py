"""Issue 7 item 11: the real `hotline` command on bad input: one clear line on stderr naming
what is wrong, exit code 1 (2 for usage errors), never a traceback, never NaN in JSON."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.captures import CAPTURES

TIMEOUT_S = 60


def hotline(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m hotline`` in ``tmp_path`` (no hotline.toml there) with these settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    clean["HOTLINE_DATABASE__URL"] = f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}"
    clean["HOTLINE_DATABASE__SPILL_PATH"] = str(tmp_path / "spill.jsonl")
    return subprocess.run(
        [sys.executable, "-m", "hotline", *args],
        cwd=tmp_path,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def strict_json(line: str) -> object:
    def refuse(constant: str) -> object:
        raise AssertionError(f"{constant} in the JSON output: {line[:200]}")

    return json.loads(line, parse_constant=refuse)


def with_timestamp(tmp_path: Path, event: str, stamp: str) -> Path:
    """answered_fast's ami.jsonl with every ``event``'s Timestamp replaced by ``stamp``."""
    out = []
    for line in (CAPTURES / "answered_fast" / "ami.jsonl").read_text("utf-8").splitlines():
        entry = json.loads(line)
        if ["Event", event] in entry["fields"]:
            entry["fields"] = [[k, stamp if k == "Timestamp" else v] for k, v in entry["fields"]]
        out.append(json.dumps(entry))
    path = tmp_path / f"{event}-{stamp}.jsonl"
    path.write_text("\n".join(out) + "\n", "utf-8")
    return path


@pytest.mark.parametrize(
    ("event", "stamp"),
    [
        ("QueueCallerJoin", "1e300"),
        ("AgentConnect", "inf"),
        ("Hangup", "nan"),
        ("Newchannel", "-1"),
    ],
)
def test_replay_store_with_a_bad_timestamp(tmp_path: Path, event: str, stamp: str) -> None:
    done = hotline(tmp_path, "replay", "--store", str(with_timestamp(tmp_path, event, stamp)))
    assert "Traceback" not in done.stderr
    assert done.returncode == 0, done.stderr
    for line in done.stdout.splitlines():
        strict_json(line)
    assert "bad Timestamp" in done.stderr


def test_replay_of_something_that_is_not_a_file(tmp_path: Path) -> None:
    done = hotline(tmp_path, "replay", "/dev/null")
    assert done.returncode == 1
    assert error_lines(done.stderr) == [
        "Error: /dev/null: not a regular file (a capture folder, ami.jsonl or ami.raw)"
    ]
    done = hotline(tmp_path, "replay", str(tmp_path / "nope"))
    assert done.returncode == 1
    assert "no such file or folder" in done.stderr


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_kpi_at_the_ends_of_the_calendar(tmp_path: Path, day: str) -> None:
    done = hotline(tmp_path, "kpi", "--from", day)
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, done.stderr
    assert "--from" in done.stderr and "out of range" in done.stderr
    done = hotline(tmp_path, "kpi", "--from", "2026-11-23", "--to", "9999-12-31")
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, done.stderr
    assert "--to" in done.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        "HOTLINE_AMI__SECRET": "s",
        "HOTLINE_AMI__PORT": str(free_port()),
        "HOTLINE_WEB__PORT": "0",
        "HOTLINE_IVR__PORT": "0",
        "HOTLINE_ASTERISK__QUEUE_LOG": str(tmp_path / "queue_log"),
        "HOTLINE_ASTERISK__CDR_CSV": str(tmp_path / "Master.csv"),
        "HOTLINE_PBX__ANNOUNCEMENTS_FILE": str(tmp_path / "announcements.json"),
    }
    # INFO lines (migrations, start-up) are the normal log; the failure must be one line.
    return hotline(tmp_path, "serve", "--log-level", "WARNING", **{**base, **env})


def test_serve_on_a_read_only_database(tmp_path: Path) -> None:
    db = tmp_path / "ro.sqlite3"
    db.write_bytes(b"")
    url = f"sqlite+aiosqlite:///file:{db}?mode=ro&uri=true"
    done = serve(tmp_path, HOTLINE_DATABASE__URL=url)
    assert done.returncode == 1, done.stderr
    lines = error_lines(done.stderr)
    assert len(lines) == 1, done.stderr
    assert "database.url" in lines[0] and str(db) in lines[0] and "read" in lines[0]


def test_serve_with_a_broken_menu_file(tmp_path: Path) -> None:
    menu = tmp_path / "menu.toml"
    menu.write_text('language = "zh"\n[nodes.main\nprompt = 1\n', "utf-8")
    done = serve(tmp_path, HOTLINE_IVR__MENU_FILE=str(menu))
    assert done.returncode == 1, done.stderr
    lines = error_lines(done.stderr)
    assert len(lines) == 1, done.stderr
    assert "ivr.menu_file" in lines[0] and f"{menu}:2" in lines[0]


async def test_replay_store_keeps_the_good_records_when_one_is_refused(tmp_path: Path) -> None:
    from hotline.commands.replay import derive_records, store_records
    from hotline.settings import Settings

    settings = Settings.model_validate(
        {"database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}"}}
    )
    records, _ = derive_records(CAPTURES / "transfer", settings)
    rows = [record.to_json() for record in records]
    bad = {**rows[0], "key": "bad#0", "uniqueid": "bad", "ended_at": 1e300}
    inserted, refused = await store_records([*rows, bad], settings)
    assert inserted == len(rows)
    assert [key for key, _ in refused] == ["bad#0"]
    assert "ended_at" in refused[0][1]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["user", "list"], 1),
        (["db", "upgrade"], 1),
        (["db", "current"], 1),
        (["kpi", "--from", "2026-11-23"], 3),
        (["replay", "--store", str(CAPTURES / "answered_fast")], 1),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else str(v),
)
def test_a_database_the_command_cannot_use_is_one_line(
    tmp_path: Path, args: list[str], code: int
) -> None:
    db = tmp_path / "ro.sqlite3"
    db.write_bytes(b"")
    url = f"sqlite+aiosqlite:///file:{db}?mode=ro&uri=true"
    done = hotline(tmp_path, *args, HOTLINE_DATABASE__URL=url)
    assert done.returncode == code, done.stderr
    lines = error_lines(done.stderr)
    assert len(lines) == 1, done.stderr
    assert str(db) in lines[0] and "readonly" in lines[0]
