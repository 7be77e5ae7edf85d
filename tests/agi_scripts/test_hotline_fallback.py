"""hotline_fallback.py as Asterisk runs it: a subprocess speaking AGI on stdin/stdout."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.agi_scripts.fake_asterisk import DEAD, FakeAsterisk, converse

ROUTE = [
    'SET VARIABLE "HOTLINE_QUEUE" "hotline-general"',
    'SET VARIABLE "HOTLINE_CHOICE" "fallback"',
    'SET VARIABLE "HOTLINE_PRIORITY" "0"',
]
GREETING = ["--greeting=hotline/welcome", "--greeting=hotline/emergency-notice"]


def stream(sound: str) -> str:
    return f'STREAM FILE {sound} "" 0'


def write(path: Path, announcements: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps({"version": 1, "announcements": announcements}), "utf-8")
    return path


def iso(delta_minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=delta_minutes)).isoformat()


@pytest.fixture
def announcements(tmp_path: Path) -> Path:
    return write(
        tmp_path / "announcements.json",
        [
            {"id": "water", "sound": "hotline/incidents/water", "starts_at": iso(-30)},
            {"id": "old", "sound": "hotline/incidents/old", "ends_at": iso(-5)},
            {"id": "later", "sound": "hotline/incidents/later", "starts_at": iso(30)},
            {"id": "bad", "sound": "../../etc/passwd"},
            {"id": "power", "sound": "hotline/incidents/power", "ends_at": iso(60)},
        ],
    )


async def test_plays_greeting_and_active_announcements_then_routes(announcements: Path) -> None:
    session = await converse([f"--announcements={announcements}", *GREETING])
    assert session.commands == [
        "ANSWER",
        stream("hotline/welcome"),
        stream("hotline/emergency-notice"),
        stream("hotline/incidents/water"),
        stream("hotline/incidents/power"),
        *ROUTE,
    ]
    assert session.returncode == 0
    assert "entry 3 skipped" in session.stderr  # the bad sound name, logged
    assert "Traceback" not in session.stderr


async def test_queue_comes_from_the_arguments(tmp_path: Path) -> None:
    session = await converse([f"--announcements={tmp_path / 'none.json'}", "--queue=hotline-night"])
    assert session.commands[-3] == 'SET VARIABLE "HOTLINE_QUEUE" "hotline-night"'


async def test_hang_up_mid_announcement_stops_playing_and_still_routes(
    announcements: Path,
) -> None:
    dead = False

    def answer(fake: FakeAsterisk, command: str) -> Sequence[str]:
        nonlocal dead
        if command == stream("hotline/incidents/water"):
            dead = True
            # what the captures show: the interrupted playback, then the async HANGUP line
            return ["200 result=-1 endpos=4160", "HANGUP"]
        if dead and not command.startswith("SET VARIABLE"):
            return [DEAD]
        return ["200 result=1" if command.startswith("SET VARIABLE") else "200 result=0"]

    session = await converse([f"--announcements={announcements}", *GREETING], answer)
    # "200 result=-1" alone may also mean a missing file; the HANGUP line is only read with
    # the next reply, so one more sound is asked for, refused with 511, and playing stops.
    assert session.commands == [
        "ANSWER",
        stream("hotline/welcome"),
        stream("hotline/emergency-notice"),
        stream("hotline/incidents/water"),
        stream("hotline/incidents/power"),
        *ROUTE,
    ]
    assert session.returncode == 0
    assert "Traceback" not in session.stderr


async def test_sighup_then_dead_channel_everywhere(announcements: Path) -> None:
    def answer(fake: FakeAsterisk, command: str) -> Sequence[str]:
        if command == stream("hotline/welcome"):
            fake.hang_up_signal()  # AGISIGHUP=yes, Asterisk's default
            return ["200 result=-1 endpos=160"]
        return [DEAD] if command != "ANSWER" else ["200 result=0"]

    session = await converse([f"--announcements={announcements}", *GREETING], answer)
    # no more playback after the hang-up; the route is attempted, refused, and logged
    assert session.commands == ["ANSWER", stream("hotline/welcome"), ROUTE[0]]
    assert session.returncode == 0
    assert "could not set the route on the dead channel" in session.stderr
    assert "Traceback" not in session.stderr


async def test_asterisk_closing_the_pipe_ends_the_script_cleanly(announcements: Path) -> None:
    def answer(fake: FakeAsterisk, command: str) -> Sequence[str] | None:
        return None if command == stream("hotline/welcome") else ["200 result=0"]

    session = await converse([f"--announcements={announcements}", *GREETING], answer)
    assert session.commands[:2] == ["ANSWER", stream("hotline/welcome")]
    assert session.returncode == 0
    assert "Traceback" not in session.stderr


async def test_a_missing_sound_is_skipped_not_fatal(announcements: Path) -> None:
    def answer(fake: FakeAsterisk, command: str) -> Sequence[str]:
        # Asterisk's reply when the sound file does not exist: -1, and no HANGUP after it
        return ["200 result=-1 endpos=0"] if "emergency-notice" in command else ["200 result=0"]

    session = await converse([f"--announcements={announcements}", *GREETING], answer)
    assert stream("hotline/incidents/power") in session.commands
    assert session.commands[-3:] == ROUTE
    assert "could not play hotline/emergency-notice" in session.stderr


@pytest.mark.parametrize(
    ("content", "logged"),
    [
        (None, "is missing"),
        ("{not json", "is unreadable"),
        (b"\xff\xfe\x00garbage", "is unreadable"),
        ('{"announcements": {"id": 1}}', "has no announcements list"),
        ("[1, 2]", "has no announcements list"),
    ],
)
async def test_missing_or_corrupt_file_still_routes_to_the_general_queue(
    tmp_path: Path, content: str | bytes | None, logged: str
) -> None:
    path = tmp_path / "announcements.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, "utf-8")
    session = await converse([f"--announcements={path}", *GREETING])
    assert session.commands == [
        "ANSWER",
        stream("hotline/welcome"),
        stream("hotline/emergency-notice"),
        *ROUTE,
    ]
    assert logged in session.stderr
    assert session.returncode == 0


async def test_the_caller_name_in_utf8_does_not_break_a_c_locale(tmp_path: Path) -> None:
    # answered_fast's env block carries agi_calleridname: 张三 as raw UTF-8
    session = await converse([f"--announcements={tmp_path / 'x.json'}"], capture="answered_fast")
    assert session.commands[0] == "ANSWER"
    assert session.commands[-3:] == ROUTE
    assert "Traceback" not in session.stderr


async def test_failed_answer_and_unknown_arguments_still_route(tmp_path: Path) -> None:
    def answer(fake: FakeAsterisk, command: str) -> Sequence[str]:
        return ["200 result=-1"] if command == "ANSWER" else ["200 result=1"]

    session = await converse(
        [f"--announcements={tmp_path / 'none.json'}", "--from-a-newer-dialplan=1"], answer
    )
    assert session.commands == ["ANSWER", *ROUTE]
    assert "ignoring unknown arguments ['--from-a-newer-dialplan=1']" in session.stderr
    assert "routing anyway" in session.stderr
    assert session.returncode == 0


async def test_no_argument_can_smuggle_a_second_agi_command(tmp_path: Path) -> None:
    """Issue 7 item 1 on the degraded path: a line break in any value never reaches Asterisk."""
    session = await converse(
        [
            f"--announcements={tmp_path / 'none.json'}",
            "--greeting=hotline/welcome\nEXEC System touch-pwned",
            '--queue=hotline-general"\nEXEC System id',
        ]
    )
    assert not [c for c in session.commands if c.startswith("EXEC")]
    assert session.returncode == 0
    assert "refused" in session.stderr
    assert "Traceback" not in session.stderr


async def test_quotes_in_a_value_are_escaped(tmp_path: Path) -> None:
    session = await converse([f"--announcements={tmp_path / 'none.json'}", '--queue=night"q'])
    assert session.commands[-3] == 'SET VARIABLE "HOTLINE_QUEUE" "night\\"q"'
