"""A sound missing on the PBX must not turn a live caller into a hang-up.

Asterisk answers ``200 result=-1 endpos=0`` to STREAM FILE for a file that does not exist (and
``200 result=-1`` to GET DATA), with no ``HANGUP`` line: the channel is alive and the caller
must go on through the menu.
"""

from __future__ import annotations

import logging

import pytest

from ivr.fastagi import FastAgiServer
from tests.ivr.agi_emulator import Fault, call
from tests.ivr.conftest import Ivr


async def test_missing_greeting_sounds_do_not_end_the_call(
    ivr: Ivr, caplog: pytest.LogCaptureFixture
) -> None:
    missing = {"hotline/welcome", "hotline/emergency-notice"}
    with caplog.at_level(logging.WARNING, logger="ivr.session"):
        log = await call(ivr.port, ["3"], missing=missing)
        await call(ivr.port, ["3"], missing=missing)

    assert "GET DATA hotline/main-menu 5000 1" in log.commands
    assert log.variables["HOTLINE_QUEUE"] == "hotline-complaint"
    assert log.variables["HOTLINE_CHOICE"] == "3"
    assert log.variables["HOTLINE_PRIORITY"] == "0"
    assert not log.caller_hung_up and not log.hung_up_by_app
    finished = ivr.events.of("ivr.finished")
    assert [f["ended"] for f in finished] == ["queue", "queue"]
    # Logged once per sound, not once per call.
    warned = [r.getMessage() for r in caplog.records if "could not be played" in r.getMessage()]
    assert sorted(w.split()[1] for w in warned) == sorted(missing)
    assert ivr.server.missing_sounds.all() == missing


async def test_each_server_remembers_its_own_missing_sounds(
    ivr: Ivr, caplog: pytest.LogCaptureFixture
) -> None:
    # What one IVR found missing is no state of the process: a second server in the same
    # process (a test, another PBX) warns about the same file again and lists only its own.
    other = FastAgiServer(ivr.server.routes, port=0)
    async with other:
        with caplog.at_level(logging.WARNING, logger="ivr.session"):
            await call(ivr.port, ["3"], missing={"hotline/welcome"})
            await call(other.port, ["3"], missing={"hotline/welcome"})
            await call(other.port, ["3"], missing={"hotline/welcome", "hotline/main-menu"})
    warned = [r.getMessage() for r in caplog.records if "could not be played" in r.getMessage()]
    assert sorted(w.split()[1] for w in warned) == [
        "hotline/main-menu",
        "hotline/welcome",
        "hotline/welcome",
    ]
    assert ivr.server.missing_sounds.all() == {"hotline/welcome"}
    assert other.missing_sounds.all() == {"hotline/welcome", "hotline/main-menu"}


async def test_missing_menu_prompt_is_silence_and_the_caller_reaches_an_agent(ivr: Ivr) -> None:
    log = await call(ivr.port, [], missing={"hotline/main-menu"})
    assert log.commands.count("GET DATA hotline/main-menu 5000 1") == 2  # asked, retried
    assert log.variables["HOTLINE_QUEUE"] == "hotline-general"
    assert log.variables["HOTLINE_CHOICE"] == "timeout"
    assert ivr.events.of("ivr.finished")[-1]["ended"] == "queue"


async def test_a_real_hang_up_during_a_sound_is_still_a_hang_up(ivr: Ivr) -> None:
    # result=-1 followed by HANGUP: the caller is gone; nothing is routed.
    log = await call(ivr.port, ["1"], fault=Fault("STREAM FILE hotline/welcome", "hangup"))
    assert log.caller_hung_up
    assert "HOTLINE_QUEUE" not in log.variables
    assert not any(c.startswith("GET DATA") for c in log.commands)
    assert ivr.events.of("ivr.finished")[-1]["ended"] == "caller_hangup"


async def test_agent_key_during_ticket_not_found_reaches_an_agent(ivr: Ivr) -> None:
    log = await call(ivr.port, ["6", "999"], stream_keys={"hotline/ticket-not-found": "0"})
    assert 'STREAM FILE hotline/ticket-not-found "0"' in log.commands
    assert log.variables["HOTLINE_QUEUE"] == "hotline-general"
    assert log.variables["HOTLINE_CHOICE"] == "0"
    assert not any("after-progress" in c for c in log.commands)
    # The ticket number is not a menu key.
    assert ivr.events.of("ivr.finished")[-1]["digits"] == "60"
