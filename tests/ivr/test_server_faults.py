"""The FastAGI server under hang-ups, garbage, vanished and slow peers, and load."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.ivr.agi_emulator import HANGUP, Fault, call, environment
from tests.ivr.conftest import Ivr, IvrFactory


async def test_hangup_during_get_data_sends_nothing_more(ivr: Ivr) -> None:
    log = await call(ivr.port, [HANGUP])
    assert log.caller_hung_up and log.closed_by_app
    assert log.commands[-1] == "GET DATA hotline/main-menu 5000 1"
    # No route, but what the call record needs so far is on the channel already.
    assert log.variables == {"HOTLINE_LANGUAGE": "zh", "HOTLINE_PATH": "welcome,main"}
    finished = ivr.events.of("ivr.finished")[-1]
    assert finished["ended"] == "caller_hangup"
    assert finished["queue"] is None and finished["path"] == ["welcome", "main"]


async def test_hangup_during_stream_file_like_the_capture(ivr: Ivr) -> None:
    # ivr_hangup c1: "200 result=-1 endpos=4160" … "HANGUP" during the greeting.
    log = await call(ivr.port, [], fault=Fault("STREAM FILE", "hangup"))
    assert log.commands[-1].startswith("STREAM FILE hotline/welcome")
    assert ivr.events.of("ivr.finished")[-1]["ended"] == "caller_hangup"


async def test_dead_channel_511_ends_the_session(ivr: Ivr) -> None:
    # The HANGUP line is lost; the next command gets 511 and the IVR stops there.
    log = await call(ivr.port, ["1"], fault=Fault("SET VARIABLE", "hangup"))
    assert log.commands[-1].startswith(("SET VARIABLE HOTLINE_", "SET VARIABLE ARRAY(HOTLINE_"))
    assert ivr.events.of("ivr.finished")[-1]["ended"] == "caller_hangup"


async def test_garbage_reply_sets_safe_defaults(ivr: Ivr, caplog: pytest.LogCaptureFixture) -> None:
    log = await call(ivr.port, ["3"], fault=Fault("GET DATA", "garbage"))
    assert log.variables == {
        "HOTLINE_LANGUAGE": "zh",
        "HOTLINE_PATH": "welcome,main",
        "HOTLINE_QUEUE": "hotline-general",
        "HOTLINE_CHOICE": "error",
        "HOTLINE_PRIORITY": "0",
    }
    assert ivr.events.of("ivr.finished")[-1]["ended"] == "error"
    assert "not an AGI reply" in caplog.text


async def test_garbage_environment_line_is_skipped(ivr: Ivr) -> None:
    log = await call(ivr.port, ["4"], env_extra=["this is not agi"])
    assert log.variables["HOTLINE_QUEUE"] == "hotline-report"


async def test_vanished_peer_mid_command(ivr: Ivr) -> None:
    await call(ivr.port, ["1"], fault=Fault("GET DATA", "vanish"))
    finished = (await ivr.events.wait("ivr.finished"))[-1]
    assert finished["ended"] == "caller_hangup"
    assert ivr.server.active_sessions == 0


async def test_silent_peer_times_out_and_is_closed(make_ivr: IvrFactory) -> None:
    ivr = await make_ivr(reply_timeout=0.3)
    # The emulator holds the line open and never replies.
    log = await call(ivr.port, ["1"], fault=Fault("STREAM FILE", "silent"), limit=5.0)
    assert log.closed_by_app
    assert ivr.events.of("ivr.finished")[-1]["ended"] == "timeout"


async def test_peer_that_never_finishes_its_environment(make_ivr: IvrFactory) -> None:
    ivr = await make_ivr(env_timeout=0.3)
    reader, writer = await asyncio.open_connection("127.0.0.1", ivr.port)
    writer.write(b"agi_network: yes\n")
    async with asyncio.timeout(5):
        assert await reader.read() == b""  # closed by the server after env_timeout
    writer.close()
    assert ivr.events.items == []


async def test_peer_closing_before_environment_ends(ivr: Ivr) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", ivr.port)
    writer.write(b"agi_network: yes\nagi_network_script: ivr\n")
    writer.close()
    await writer.wait_closed()
    # The server stays healthy for the next call.
    log = await call(ivr.port, ["5"])
    assert log.variables["HOTLINE_CHOICE"] == "5"


async def test_unknown_script_is_closed_without_commands(ivr: Ivr) -> None:
    log = await call(ivr.port, ["1"], script="no-such-script")
    assert log.commands == [] and log.closed_by_app


async def test_crash_in_one_session_does_not_touch_the_others(
    ivr: Ivr, caplog: pytest.LogCaptureFixture
) -> None:
    real = ivr.board.matching

    def broken(caller: str, *args: Any, **kwargs: Any) -> Any:
        if caller == "13900000000":
            raise RuntimeError("bug in incident matching")
        return real(caller, *args, **kwargs)

    ivr.board.matching = broken  # type: ignore[method-assign, assignment]
    caplog.set_level(logging.ERROR)
    good_a, bad, good_b = await asyncio.gather(
        call(ivr.port, ["3"], callerid="13800000001"),
        call(ivr.port, ["3"], callerid="13900000000"),
        call(ivr.port, ["4"], callerid="13800000002"),
    )
    assert bad.variables == {
        "HOTLINE_LANGUAGE": "zh",
        "HOTLINE_PATH": "welcome",
        "HOTLINE_QUEUE": "hotline-general",
        "HOTLINE_CHOICE": "error",
        "HOTLINE_PRIORITY": "0",
    }
    assert good_a.variables["HOTLINE_QUEUE"] == "hotline-complaint"
    assert good_b.variables["HOTLINE_QUEUE"] == "hotline-report"
    assert "bug in incident matching" in caplog.text


async def test_500_concurrent_sessions_all_finish(ivr: Ivr) -> None:
    choices = ["1", "3", "4", "5", "0"]
    logs = await asyncio.gather(
        *(call(ivr.port, [choices[i % 5]], callerid=f"138{i:08d}", limit=30.0) for i in range(500))
    )
    assert all(log.closed_by_app for log in logs)
    assert [log.variables["HOTLINE_CHOICE"] for log in logs] == [choices[i % 5] for i in range(500)]
    finished = ivr.events.of("ivr.finished")
    assert len(finished) == 500
    assert len({f["uniqueid"] for f in finished}) == 500
    assert ivr.server.peak_sessions > 1  # they really overlapped
    assert ivr.server.active_sessions == 0


def test_environment_matches_the_capture() -> None:
    import json

    from tests.captures import CAPTURES

    captured = [
        json.loads(line)["line"]
        for line in (CAPTURES / "ivr_hangup" / "agi.jsonl").read_text().splitlines()
    ]
    first_env = captured[: captured.index("")]
    ours = environment(script="ivr", uniqueid="1795445409.1", callerid="13200132001", name="孙丽")
    assert [line.split(":")[0] for line in ours] == [line.split(":")[0] for line in first_env]


async def test_broken_publisher_does_not_cost_the_call(
    ivr: Ivr, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(topic: str, payload: dict[str, Any]) -> None:
        raise ConnectionError("bus down")

    ivr.app.publish = broken
    log = await call(ivr.port, ["3"])
    assert log.variables["HOTLINE_QUEUE"] == "hotline-complaint"
    assert "publishing ivr.finished failed" in caplog.text


async def test_slow_async_publisher_does_not_hold_the_caller(ivr: Ivr) -> None:
    release = asyncio.Event()
    done = asyncio.Event()
    delivered: list[str] = []

    async def slow(topic: str, payload: dict[str, Any]) -> None:
        await release.wait()
        delivered.append(topic)
        done.set()

    ivr.app.publish = slow
    log = await call(ivr.port, ["1"], limit=2.0)
    assert log.closed_by_app and delivered == []  # the socket closed before delivery
    release.set()
    await asyncio.wait_for(done.wait(), 2)
    assert delivered == ["ivr.finished"]
