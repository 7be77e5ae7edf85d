"""The FastAGI line formats, from the real captures and Asterisk's res_agi."""

from __future__ import annotations

import json

import pytest

from ivr.agi_protocol import AgiProtocolError, parse_env_line, parse_reply, quote_arg
from tests.captures import CAPTURES


def test_every_reply_in_the_captures_parses() -> None:
    replies = []
    for path in sorted(CAPTURES.glob("*/agi.jsonl")):
        for raw in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(raw)
            line = entry["line"]
            if entry["dir"] == "asterisk->app" and line and not line.startswith("agi_"):
                replies.append(line)
    assert replies
    for line in replies:
        if line == "HANGUP":
            continue
        reply = parse_reply(line)
        assert reply.code == 200


@pytest.mark.parametrize(
    ("line", "result", "paren", "extra"),
    [
        ("200 result=0", "0", None, ""),
        ("200 result=0 endpos=11360", "0", None, "endpos=11360"),
        ("200 result=-1 endpos=4160", "-1", None, "endpos=4160"),
        ("200 result= (timeout)", "", "timeout", ""),
        ("200 result=12 (timeout)", "12", "timeout", ""),
        ("200 result=1 (1795445409.0)", "1", "1795445409.0", ""),
        ("200 result=4", "4", None, ""),
    ],
)
def test_replies(line: str, result: str, paren: str | None, extra: str) -> None:
    reply = parse_reply(line)
    assert (reply.result, reply.paren, reply.extra) == (result, paren, extra)


def test_endpos_field() -> None:
    assert parse_reply("200 result=0 endpos=11360").field("endpos") == "11360"


def test_error_codes_keep_their_text() -> None:
    reply = parse_reply("511 Command Not Permitted on a dead channel or intercepted channel")
    assert reply.code == 511 and "dead channel" in reply.extra


@pytest.mark.parametrize("line", ["", "HELLO", "2000 result=1", "200 foo", "\x00garbage"])
def test_garbage_is_refused(line: str) -> None:
    with pytest.raises(AgiProtocolError):
        parse_reply(line)


def test_environment_lines() -> None:
    assert parse_env_line("agi_calleridname: 孙丽") == ("agi_calleridname", "孙丽")
    assert parse_env_line("agi_accountcode: ") == ("agi_accountcode", "")
    assert parse_env_line("agi_request: agi://127.0.0.1:4573/ivr") == (
        "agi_request",
        "agi://127.0.0.1:4573/ivr",
    )
    assert parse_env_line("garbage") is None
    assert parse_env_line("Event: Hangup") is None


def test_quoting() -> None:
    assert quote_arg("hotline-general") == "hotline-general"
    assert quote_arg("") == '""'
    assert quote_arg('a "b"') == '"a \\"b\\""'
