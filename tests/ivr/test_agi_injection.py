"""Issue 7 item 1: nothing the IVR sends can reach Asterisk as a second command.

res_agi reads one command per line and has no escape for a line break, so a value with CR, LF
or NUL is refused before a byte is written; quotes and backslashes are escaped. The IVR is fed
an incident whose id was never validated (as if it came from an old database or a future entry
point) to prove the guard holds whatever the value's origin.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shlex

import pytest

from ivr.agi_protocol import AgiUnsafeCommand, command_line, quote_arg
from ivr.incidents import Incident, IncidentError, validate_incident_id
from tests.ivr.agi_emulator import call
from tests.ivr.conftest import WORKDAY_MORNING, Ivr

INJECTED = 'inc-1"\nEXEC System "touch /tmp/hotline-pwned'


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\x00b", "\n", "x\r\nEXEC System id"])
def test_line_breaks_and_nul_are_refused(bad: str) -> None:
    with pytest.raises(AgiUnsafeCommand):
        quote_arg(bad)
    with pytest.raises(AgiUnsafeCommand):
        command_line(f"SET VARIABLE X {bad}", "utf-8")


@pytest.mark.parametrize("value", ['a "b"', "back\\slash", 'x" EXEC System "id', "两 字", "\\"])
def test_quoted_values_read_back_as_one_argument(value: str) -> None:
    # shlex follows the same rule as res_agi's parse_args for double quotes and backslashes.
    words = shlex.split(f"SET VARIABLE HOTLINE_INCIDENT {quote_arg(value)}")
    assert words == ["SET", "VARIABLE", "HOTLINE_INCIDENT", value]


def test_a_plain_command_is_one_line() -> None:
    assert command_line('STREAM FILE hello-world ""', "utf-8") == b'STREAM FILE hello-world ""\n'


async def test_an_unvalidated_incident_id_cannot_inject_a_command(ivr: Ivr) -> None:
    good = Incident.from_json(
        {
            "id": "inc-1",
            "title": "停水",
            "text": "停水",
            "prompt": "incidents/inc-1",
            "start": (WORKDAY_MORNING - dt.timedelta(hours=1)).isoformat(),
        }
    )
    ivr.board.create(dataclasses.replace(good, id=INJECTED))
    log = await call(ivr.port, ["1", "3"], callerid="13800138001")
    assert not [c for c in log.commands if c.startswith("EXEC") or c.startswith("touch")]
    assert "HOTLINE_INCIDENT" not in log.variables
    # The caller is still routed: the IVR falls back to its safe defaults.
    assert log.variables["HOTLINE_QUEUE"]
    assert ivr.events.of("ivr.finished")[-1]["ended"] == "error"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "a\nb",
        "inc\r1",
        "inc\x001",
        "inc\t1",
        "{inc}",
        "${SHELL}",
        ".",
        "..",
        "...",
        "-rf",
        "a b",
        'a"b',
        "a/b",
        "x" * 65,
        "停水",
    ],
)
def test_incident_ids_are_short_slugs(bad: str) -> None:
    with pytest.raises(IncidentError, match="id:"):
        validate_incident_id(bad)


@pytest.mark.parametrize("good", ["inc-1", "water_0925", "power.2", "A", "x" * 64])
def test_slug_ids_pass(good: str) -> None:
    assert validate_incident_id(good) == good


def test_from_json_refuses_a_newline_id() -> None:
    with pytest.raises(IncidentError, match="id:"):
        Incident.from_json(
            {
                "id": "inc-1\nEXEC System id",
                "title": "t",
                "text": "t",
                "prompt": "p",
                "start": "2026-11-25T09:00:00+08:00",
            }
        )
