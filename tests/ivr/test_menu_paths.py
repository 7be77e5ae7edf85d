"""Every path of the default 12345 menu, driven over loopback TCP like Asterisk does it."""

from __future__ import annotations

import pytest

from tests.ivr.agi_emulator import call
from tests.ivr.conftest import Ivr

PATHS = [
    # keys, queue, choice, priority, path
    (["1"], "hotline-general", "1", "0", ["welcome", "main"]),
    (["2", "1"], "hotline-general", "21", "5", ["welcome", "main", "help"]),
    (["2", "2"], "hotline-general", "22", "0", ["welcome", "main", "help"]),
    (["2", "0"], "hotline-general", "0", "0", ["welcome", "main", "help"]),
    (["3"], "hotline-complaint", "3", "0", ["welcome", "main"]),
    (["4"], "hotline-report", "4", "0", ["welcome", "main"]),
    (["5"], "hotline-general", "5", "0", ["welcome", "main"]),
    (["0"], "hotline-general", "0", "0", ["welcome", "main"]),
    (["9", "4"], "hotline-report", "4", "0", ["welcome", "main", "main"]),
]


@pytest.mark.parametrize(("keys", "queue", "choice", "priority", "path"), PATHS)
async def test_menu_path_sets_variables(
    ivr: Ivr, keys: list[str], queue: str, choice: str, priority: str, path: list[str]
) -> None:
    log = await call(ivr.port, keys, linkedid="1795445409.0")

    assert log.commands[0] == "ANSWER"
    assert log.variables["HOTLINE_QUEUE"] == queue
    assert log.variables["HOTLINE_CHOICE"] == choice
    assert log.variables["HOTLINE_PRIORITY"] == priority
    # Same order as the real IVR in the captures, and the channel goes on to Queue().
    assert log.set_order[-3:] == ["HOTLINE_QUEUE", "HOTLINE_CHOICE", "HOTLINE_PRIORITY"]
    assert not log.hung_up_by_app and log.closed_by_app
    finished = ivr.events.finished(log_uniqueid(ivr))
    assert finished["linkedid"] == "1795445409.0"
    assert finished["path"] == path
    assert finished["digits"] == "".join(keys)
    assert (finished["queue"], finished["choice"], finished["priority"]) == (
        queue,
        choice,
        int(priority),
    )
    assert finished["ended"] == "queue"


def log_uniqueid(ivr: Ivr) -> str:
    return ivr.events.of("ivr.finished")[-1]["uniqueid"]


async def test_prompts_are_played_in_order_with_agent_key_escape(ivr: Ivr) -> None:
    log = await call(ivr.port, ["1"])
    played = [c for c in log.commands if not c.startswith("SET VARIABLE")]
    assert played[:4] == [
        "ANSWER",
        "GET VARIABLE CHANNEL(linkedid)",
        'STREAM FILE hotline/welcome "0"',
        'STREAM FILE hotline/emergency-notice "0"',
    ]
    assert played[4] == "GET DATA hotline/main-menu 5000 1"


async def test_agent_key_during_greeting_skips_the_menu(ivr: Ivr) -> None:
    log = await call(ivr.port, [], stream_keys={"hotline/welcome": "0"})
    assert log.variables["HOTLINE_QUEUE"] == "hotline-general"
    assert log.variables["HOTLINE_CHOICE"] == "0"
    assert not any(c.startswith("GET DATA") for c in log.commands)


async def test_cantonese_switches_channel_language(ivr: Ivr) -> None:
    log = await call(ivr.port, ["9", "1"])
    assert log.variables["CHANNEL(language)"] == "yue"
    assert ivr.events.of("ivr.finished")[-1]["language"] == "yue"


async def test_the_outcome_travels_as_channel_variables(ivr: Ivr) -> None:
    # The call record learns the walk only from these (AMI VarSet): nothing else is shared
    # with the service, which may be another process.
    log = await call(ivr.port, ["9", "1"])
    finished = ivr.events.of("ivr.finished")[-1]
    assert log.variables["HOTLINE_LANGUAGE"] == "yue"
    assert log.variables["HOTLINE_PATH"].split(",") == finished["path"]
    assert log.variables["HOTLINE_DIGITS"] == finished["digits"] == "91"
    # Each is sent once per change, the routing three last (as the captures' IVR did).
    assert log.set_order[-3:] == ["HOTLINE_QUEUE", "HOTLINE_CHOICE", "HOTLINE_PRIORITY"]
    assert log.set_order.count("HOTLINE_LANGUAGE") == 2  # zh at the start, then yue


async def test_emergency_guidance_plays_and_hangs_up(ivr: Ivr) -> None:
    log = await call(ivr.port, ["2", "3"])
    assert 'STREAM FILE hotline/emergency-guidance ""' in log.commands
    assert log.variables["HOTLINE_CHOICE"] == "emergency-all"
    assert "HOTLINE_QUEUE" not in log.variables
    assert log.hung_up_by_app
    assert ivr.events.of("ivr.finished")[-1]["ended"] == "hangup"


async def test_invalid_key_then_silence_goes_to_agent(ivr: Ivr) -> None:
    log = await call(ivr.port, ["7", None])
    assert [c for c in log.commands if c.startswith("GET DATA")] == [
        "GET DATA hotline/main-menu 5000 1"
    ] * 2
    assert 'STREAM FILE hotline/invalid-key ""' in log.commands
    assert log.variables["HOTLINE_QUEUE"] == "hotline-general"
    assert log.variables["HOTLINE_CHOICE"] == "timeout"
    assert ivr.events.of("ivr.finished")[-1]["digits"] == "7"


async def test_two_invalid_keys_go_to_agent_as_invalid(ivr: Ivr) -> None:
    log = await call(ivr.port, ["8", "#"])
    assert log.variables["HOTLINE_CHOICE"] == "invalid"
    assert log.variables["HOTLINE_QUEUE"] == "hotline-general"


async def test_invalid_then_valid_key_is_honoured(ivr: Ivr) -> None:
    log = await call(ivr.port, ["7", "3"])
    assert log.variables["HOTLINE_QUEUE"] == "hotline-complaint"
    assert log.variables["HOTLINE_CHOICE"] == "3"


async def test_ticket_progress_plays_the_lookup_answer(ivr: Ivr) -> None:
    ivr.tickets["2026112500017"] = ["hotline/ticket-status-in-progress"]
    log = await call(ivr.port, ["6", "2026112500017", "1", "5"])
    assert "GET DATA hotline/ticket-enter 8000 12" in log.commands
    assert 'STREAM FILE hotline/ticket-status-in-progress ""' in log.commands
    assert log.variables["HOTLINE_CHOICE"] == "5"  # back to the main menu, then 5
    assert ivr.events.of("ivr.finished")[-1]["path"] == [
        "welcome",
        "main",
        "after-progress",
        "main",
    ]


async def test_ticket_progress_with_no_number_reads_the_callers_latest_case(ivr: Ivr) -> None:
    ivr.tickets[""] = ["hotline/ticket-status-signed"]  # the lookup's answer for no digits
    log = await call(ivr.port, ["6", "", "1", "5"])  # "#" alone at the number prompt
    assert 'STREAM FILE hotline/ticket-status-signed ""' in log.commands
    assert log.variables["HOTLINE_CHOICE"] == "5"


async def test_ticket_not_found_then_silence_says_goodbye(ivr: Ivr) -> None:
    log = await call(ivr.port, ["6", "999", None])
    assert 'STREAM FILE hotline/ticket-not-found "0"' in log.commands
    assert 'STREAM FILE hotline/goodbye ""' in log.commands
    assert log.hung_up_by_app
    assert log.variables["HOTLINE_CHOICE"] == "6"


async def test_a_caller_going_round_in_circles_ends_with_an_agent(ivr: Ivr) -> None:
    log = await call(ivr.port, ["9"] * 60)
    assert log.variables["HOTLINE_QUEUE"] == "hotline-general"
    assert log.variables["HOTLINE_CHOICE"] == "too-many-steps"
    assert len(ivr.events.of("ivr.finished")[-1]["path"]) == 50


@pytest.mark.parametrize(("keys", "queue", "choice", "priority", "path"), PATHS)
async def test_one_round_trip_between_the_routing_key_and_the_queue(
    ivr: Ivr, keys: list[str], queue: str, choice: str, priority: str, path: list[str]
) -> None:
    """The caller waits for every command after the key that routes them (bench/pbx_calls.py:
    under load each round trip to Asterisk costs ~0.2 s): the route, the keys and the
    category go in one SET VARIABLE ARRAY(…), the route last and in the captures' order."""
    log = await call(ivr.port, keys, linkedid="1795445409.0")
    last_key = max(i for i, c in enumerate(log.commands) if c.startswith("GET DATA"))
    (after,) = log.commands[last_key + 1 :]
    assert after.startswith("SET VARIABLE ARRAY(HOTLINE_"), after
    assert log.set_order[-3:] == ["HOTLINE_QUEUE", "HOTLINE_CHOICE", "HOTLINE_PRIORITY"]
    assert log.variables["HOTLINE_DIGITS"] == "".join(keys)
