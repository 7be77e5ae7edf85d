"""The AMI framer against the real captures: every cut of the stream gives the same messages."""

from __future__ import annotations

import logging
import random

import pytest

from acd.ami.framing import AmiFramer, FramedMessage, iter_messages, parse_frame
from acd.ami.message import AmiMessage
from tests.captures import capture_names, load_messages, raw_bytes

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
TERM = b"\r\n\r\n"


def _split_feed(raw: bytes, k: int, **framer_args: bool) -> list[AmiMessage]:
    framer = AmiFramer(**framer_args)
    out = framer.feed(raw[:k])
    out += framer.feed(raw[k:])
    assert framer.skipped == 0
    assert framer.pending == 0
    return out


@pytest.mark.parametrize("name", capture_names())
def test_whole_capture_matches_jsonl(name: str) -> None:
    raw = raw_bytes(name)
    framer = AmiFramer()
    assert framer.feed(raw) == load_messages(name)
    assert framer.banner == "Asterisk Call Manager/11.0.0"
    assert framer.version == "11.0.0"
    assert framer.skipped == 0


def test_badauth_stream_matches_jsonl() -> None:
    raw = raw_bytes("member_ops", "ami_badauth.raw")
    assert list(iter_messages(raw)) == load_messages("member_ops", "ami_badauth.jsonl")


def test_every_offset_of_a_full_capture() -> None:
    # joinempty: the smallest full capture, Chinese names in many of its messages.
    raw = raw_bytes("joinempty")
    assert any(b >= 0x80 for b in raw)
    # The uncut stream, checked field by field against ami.jsonl; every cut must then give
    # messages equal to these (equal frame text, hence equal fields: parsing is a pure function).
    reference = AmiFramer().feed(raw)
    assert reference == load_messages("joinempty")
    assert all(isinstance(m, FramedMessage) for m in reference)
    for k in range(len(raw) + 1):
        out = _split_feed(raw, k)
        if out != reference:
            pytest.fail(f"cut at byte {k} of joinempty/ami.raw gives different messages")
    # And a sample of cuts compared field by field, without the text shortcut.
    expected = load_messages("joinempty")
    for k in range(0, len(raw) + 1, 997):
        assert [m.fields for m in _split_feed(raw, k)] == [m.fields for m in expected]


def _frame_spans(raw: bytes) -> list[tuple[int, int]]:
    """(start, end) of each message in ``raw``, end including its blank line."""
    spans = []
    pos = len(BANNER)
    while pos < len(raw):
        end = raw.index(TERM, pos) + len(TERM)
        spans.append((pos, end))
        pos = end
    return spans


@pytest.mark.parametrize("name", capture_names())
def test_cuts_inside_and_around_every_multibyte_character(name: str) -> None:
    raw = raw_bytes(name)
    expected = load_messages(name)
    spans = _frame_spans(raw)
    assert len(spans) == len(expected)
    checked = 0
    for i, (start, end) in enumerate(spans):
        frame = raw[start:end]
        cuts = {j + d for j, byte in enumerate(frame) if byte >= 0x80 for d in (0, 1)}
        if not cuts:
            continue
        # The message with its neighbours, so the cut also meets a complete message on each
        # side; the full-stream version of this runs over every offset of joinempty above.
        lo, hi = max(0, i - 1), min(len(spans), i + 2)
        window = raw[spans[lo][0] : spans[hi - 1][1]]
        offset = start - spans[lo][0]
        for cut in sorted(cuts):
            out = _split_feed(window, offset + cut, expect_banner=False)
            assert out == expected[lo:hi], f"{name}: message {i} cut at its byte {cut}"
            checked += 1
    assert checked > 0, f"{name} has no multi-byte character"


@pytest.mark.parametrize("name", capture_names())
def test_random_chunkings(name: str) -> None:
    raw = raw_bytes(name)
    expected = load_messages(name)
    rng = random.Random(f"chunks-{name}")
    for max_chunk in (7, 300, 5000):
        framer = AmiFramer()
        out: list[AmiMessage] = []
        pos = 0
        while pos < len(raw):
            size = rng.randint(1, max_chunk)
            out += framer.feed(raw[pos : pos + size])
            pos += size
        assert out == expected, f"{name}: chunks up to {max_chunk} bytes"
        assert framer.pending == 0


def test_chinese_name_cut_between_reads_arrives_intact() -> None:
    msg = AmiMessage([("Event", "NewCallerid"), ("CallerIDName", "张三"), ("Uniqueid", "1.2")])
    data = msg.to_bytes()
    cut = data.index("张".encode()) + 1  # inside the first character
    framer = AmiFramer(expect_banner=False)
    assert framer.feed(data[:cut]) == []
    assert framer.pending == cut
    assert framer.feed(data[cut:]) == [msg]


GOOD = [
    AmiMessage([("Event", "Newchannel"), ("Channel", "Local/1@x-0;1"), ("AccountCode", "")]),
    AmiMessage([("Response", "Success"), ("ActionID", "a1"), ("Ping", "Pong")]),
    AmiMessage(
        [
            ("Event", "VarSet"),
            ("Variable", "A"),
            ("Variable", "B"),
            ("Value", "x: y:z"),
            ("Name", "陈静"),
        ]
    ),
]
MALFORMED = [
    b"Event: Broken\r\nno colon on this line\r\n\r\n",
    b"Event: BadBytes\r\n\xff\xfe\r\n\r\n",  # neither UTF-8 nor GB18030, and no ':'
    b"Channel: Local/1@x\r\nEvent: Late\r\n\r\n",  # neither Event nor Response first
    b"garbage \x00\xff without any structure\r\n\r\n",
]


def _with_malformed() -> bytes:
    parts = [BANNER]
    for good, bad in zip(GOOD, MALFORMED, strict=False):
        parts += [good.to_bytes(), bad]
    parts += [MALFORMED[-1], GOOD[0].to_bytes()]
    return b"".join(parts)


def test_malformed_frames_are_logged_skipped_and_the_rest_arrives(
    caplog: pytest.LogCaptureFixture,
) -> None:
    raw = _with_malformed()
    expected = [*GOOD, GOOD[0]]
    with caplog.at_level(logging.WARNING, logger="acd.ami.framing"):
        framer = AmiFramer()
        assert framer.feed(raw) == expected
    assert framer.skipped == 4
    warnings = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(warnings) == 4
    assert any("line without ':'" in w and "no colon on this line" in w for w in warnings)
    assert any("neither Event nor Response" in w for w in warnings)
    # Cut anywhere, the same messages arrive and the same frames are skipped.
    for k in range(len(raw) + 1):
        framer = AmiFramer()
        assert framer.feed(raw[:k]) + framer.feed(raw[k:]) == expected, f"cut at {k}"
        assert framer.skipped == 4


def test_a_frame_that_is_not_utf8_is_read_not_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gbk = b"Event: Newchannel\r\nCallerIDName: " + "张三".encode("gbk") + b"\r\nX: 1\r\n\r\n"
    # Neither UTF-8 nor GB18030 (0xff never starts a GB18030 character): bytes replaced.
    neither = b"Event: Hangup\r\nCallerIDName: ab\xffcd\r\n\r\n"
    raw = BANNER + GOOD[0].to_bytes() + gbk + GOOD[1].to_bytes() + neither + GOOD[2].to_bytes()
    expected = [
        GOOD[0],
        AmiMessage([("Event", "Newchannel"), ("CallerIDName", "张三"), ("X", "1")]),
        GOOD[1],
        AmiMessage([("Event", "Hangup"), ("CallerIDName", "ab\ufffdcd")]),
        GOOD[2],
    ]
    with caplog.at_level(logging.WARNING, logger="acd.ami.framing"):
        framer = AmiFramer()
        assert framer.feed(raw) == expected
    assert framer.skipped == 0
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2  # one per frame, with what it was read as and a short excerpt
    assert "GB18030" in warnings[0] and "Newchannel" in warnings[0]
    assert "replacement" in warnings[1] and "Hangup" in warnings[1]
    for k in range(len(raw) + 1):
        framer = AmiFramer()
        assert framer.feed(raw[:k]) + framer.feed(raw[k:]) == expected, f"cut at {k}"
        assert framer.skipped == 0


def test_parse_frame() -> None:
    assert parse_frame(b"Event: X\r\nA: \r\nB:c\r\nD:  two spaces") == AmiMessage(
        [("Event", "X"), ("A", ""), ("B", "c"), ("D", " two spaces")]
    )
    assert parse_frame("Event: X\r\nName: 李四".encode()) == AmiMessage(
        [("Event", "X"), ("Name", "李四")]
    )
    assert parse_frame(b"Event: X\r\nbroken") is None
    assert parse_frame(b"Action: Ping") is None
    assert parse_frame(b"Action: Ping", strict_kind=False) == AmiMessage([("Action", "Ping")])
    assert parse_frame(b"Event: X\r\nName: \xd5\xc5\xc8\xfd") == AmiMessage(
        [("Event", "X"), ("Name", "张三")]
    )  # GBK, as Chinese trunks send it
    assert parse_frame(b"Event: \xff") == AmiMessage([("Event", "\ufffd")])
    assert parse_frame(b"Event \xff") is None
    assert parse_frame(b"") is None


def test_lone_cr_or_lf_inside_a_value_is_kept() -> None:
    # Lines end at CRLF only; a stray LF belongs to the value (the slow, exact path).
    framer = AmiFramer(expect_banner=False)
    out = framer.feed(b"Event: X\r\nOutput: line1\nline2\r\nMore: a\rb\r\n\r\n")
    assert out == [AmiMessage([("Event", "X"), ("Output", "line1\nline2"), ("More", "a\rb")])]


def test_stray_blank_lines_between_messages_are_harmless() -> None:
    framer = AmiFramer(expect_banner=False)
    out = framer.feed(b"Event: A\r\n\r\n\r\n\r\nEvent: B\r\n\r\n\r\nEvent: C\r\n\r\n")
    assert [m.name for m in out] == ["A", "B", "C"]
    assert framer.skipped == 0
    # A read that ends on extra blank lines, and the next read that starts with some.
    assert framer.feed(b"Event: D\r\n\r\n\r\n") == [AmiMessage([("Event", "D")])]
    assert framer.feed(b"\r\n\r\nEvent: E\r\n\r\n") == [AmiMessage([("Event", "E")])]
    assert framer.skipped == 0 and framer.pending == 0


def test_banner_split_across_reads_and_stream_without_banner() -> None:
    framer = AmiFramer()
    data = BANNER + GOOD[0].to_bytes()
    assert framer.feed(data[:5]) == []
    assert framer.feed(data[5:25]) == []
    assert framer.feed(data[25:]) == [GOOD[0]]
    assert framer.version == "11.0.0"
    headless = AmiFramer()
    assert headless.feed(GOOD[1].to_bytes()) == [GOOD[1]]
    assert headless.banner is None


def test_a_peer_that_never_ends_its_message_cannot_eat_memory(
    caplog: pytest.LogCaptureFixture,
) -> None:
    framer = AmiFramer(expect_banner=False, max_buffer=64 * 1024)
    endless = b"Event: Endless\r\nData: " + b"x" * 1000
    with caplog.at_level(logging.WARNING, logger="acd.ami.framing"):
        assert framer.feed(endless) == []
        for _ in range(200):
            assert framer.feed(b"y" * 1000) == []
            assert framer.pending <= 64 * 1024 + 1000
    assert framer.skipped == 1
    assert "without an end of message" in caplog.text
    # The rest of the oversized message is dropped; the next message is read normally.
    assert framer.feed(b"yyy\r\n\r" + b"\n" + GOOD[0].to_bytes()) == [GOOD[0]]
    assert framer.pending == 0


def test_an_absurdly_large_message_is_skipped() -> None:
    framer = AmiFramer(expect_banner=False, max_frame=1000)
    big = AmiMessage([("Event", "Big"), ("Data", "z" * 2000)]).to_bytes()
    assert framer.feed(GOOD[0].to_bytes() + big + GOOD[1].to_bytes()) == [GOOD[0], GOOD[1]]
    assert framer.skipped == 1


def test_server_side_reads_actions() -> None:
    framer = AmiFramer(expect_banner=False, strict_kind=False)
    data = b"Action: Login\r\nUsername: hotline\r\nSecret: s\r\n\r\n"
    assert framer.feed(data) == [
        AmiMessage([("Action", "Login"), ("Username", "hotline"), ("Secret", "s")])
    ]


def test_framed_message_behaves_as_an_ami_message() -> None:
    raw = "Event: VarSet\r\nVariable: A\r\nVariable: B\r\nValue: 王五: x\r\nEmpty: "
    framed = FramedMessage(raw)
    plain = AmiMessage(
        [
            ("Event", "VarSet"),
            ("Variable", "A"),
            ("Variable", "B"),
            ("Value", "王五: x"),
            ("Empty", ""),
        ]
    )
    assert framed.name == "VarSet" and framed.kind == "event"
    assert framed == plain and plain == framed
    assert hash(framed) == hash(plain)
    assert framed.get("Value") == "王五: x" and framed.getall("Variable") == ["A", "B"]
    assert framed["Empty"] == "" and "Missing" not in framed
    assert framed.to_bytes() == plain.to_bytes()
    assert FramedMessage("Response: Success\r\nActionID: 1").kind == "response"
    assert FramedMessage("Response:Goodbye").name == "Goodbye"
    other = FramedMessage("Event: VarSet\r\nVariable:A\r\nVariable: B\r\nValue: 王五: x\r\nEmpty:")
    assert other == framed  # different text, same fields
    assert FramedMessage("Event: VarSet\r\nVariable: C") != framed
    framed.fields = [("Event", "Changed")]
    assert framed.name == "Changed" and framed.get("Event") == "Changed"
    assert framed != FramedMessage(framed.text)


def test_iter_messages_keeps_a_last_message_without_its_blank_line() -> None:
    raw = raw_bytes("joinempty")
    expected = load_messages("joinempty")
    assert list(iter_messages(raw[:-2])) == expected  # the stream ends after the last CRLF
    assert list(iter_messages(raw[:-4])) == expected  # ...or right after the last value
    assert list(iter_messages(b"")) == []
