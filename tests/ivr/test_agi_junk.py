"""Issue 7 item 12 (FastAGI parts): junk from a peer is handled cleanly and logged in bounds.

A result code no Asterisk sends (huge, negative, not a number) never becomes a traceback: a
STREAM FILE result that is not a key's ASCII code means no key; a GET DATA result that is not
DTMF digits is a protocol error, and the caller still gets the safe route. One connection that
sends hundreds of junk lines costs a few warning lines and one summary, not hundreds.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from asterisk_conf.agi_args import agi_words, assignments
from tests.ivr.conftest import Ivr

JUNK_RESULTS = [
    "200 result=99999999999",
    "200 result=-99999999999",
    "200 result=1114112 endpos=10",
    "200 result=55296",
    "200 result=abc",
    "200 result=-7",
    "200 result=٣",  # an Arabic-Indic digit: str.isdigit() says yes, int() agrees, DTMF no
    "200 result=1e9",
]


async def scripted_call(port: int, junk_for: str, junk: str) -> dict[str, str]:
    """A peer that answers like Asterisk except that the first ``junk_for`` command gets
    ``junk``; returns the variables the IVR set."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    variables: dict[str, str] = {}
    sent_junk = False
    env = [
        "agi_network: yes",
        "agi_network_script: ivr",
        "agi_channel: PJSIP/trunk-00000001",
        "agi_uniqueid: 1795445409.1",
        "agi_callerid: 13800138001",
        "",
    ]
    writer.write("".join(f"{line}\n" for line in env).encode())
    try:
        async with asyncio.timeout(15):
            while raw := await reader.readline():
                command = raw.decode().rstrip("\n")
                verb = " ".join(command.split()[:2])
                if not sent_junk and command.startswith(junk_for):
                    sent_junk = True
                    reply = junk
                elif command == "ANSWER" or command == "HANGUP":
                    reply = "200 result=0"
                elif verb == "GET VARIABLE":
                    reply = "200 result=1 (1795445409.0)"
                elif verb == "STREAM FILE":
                    reply = "200 result=0 endpos=100"
                elif verb == "GET DATA":
                    reply = "200 result= (timeout)"
                elif verb == "SET VARIABLE":
                    _, _, name, value = agi_words(command)
                    variables.update(assignments(name, value))  # ARRAY(…): several
                    reply = "200 result=1"
                else:
                    reply = "510 Invalid or unknown command"
                writer.write(f"{reply}\n".encode())
    finally:
        writer.close()
    return variables


@pytest.mark.parametrize("junk", JUNK_RESULTS)
@pytest.mark.parametrize("command", ["STREAM FILE", "GET DATA"])
async def test_odd_result_codes_are_no_traceback(
    ivr: Ivr, caplog: pytest.LogCaptureFixture, command: str, junk: str
) -> None:
    with caplog.at_level(logging.INFO):
        variables = await scripted_call(ivr.port, command, junk)
        await ivr.events.wait("ivr.finished")
    assert [r for r in caplog.records if r.exc_info] == []
    assert variables.get("HOTLINE_QUEUE")  # the caller is routed either way


async def test_a_junk_connection_logs_a_few_lines_then_one_summary(
    ivr: Ivr, caplog: pytest.LogCaptureFixture
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", ivr.port)
    writer.write(b"".join(b"GET / HTTP/1.1 junk %d\n" % n for n in range(450)))
    writer.write(b"agi_network_script: nowhere\n\n")
    with caplog.at_level(logging.WARNING, logger="ivr.fastagi"):
        async with asyncio.timeout(10):
            # The server logs, then closes (no route for "nowhere"): EOF means it is done.
            await reader.read()
        writer.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "ivr.fastagi"]
    assert 2 <= len(lines) <= 8, lines
    assert any("450" in line for line in lines), lines
