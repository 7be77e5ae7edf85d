"""Cut an AMI byte stream into messages.

The stream is split on ``b"\\r\\n\\r\\n"`` *before* decoding: a UTF-8 caller name cut between two
TCP reads must reach us whole (panoramisk decodes every read on its own with ``errors='ignore'``
and silently loses such names). Lines split at the first ``:`` with one following space dropped,
empty values kept, duplicate keys kept in order: the convention of the captures' ami.jsonl.

A frame that is not UTF-8 is still read: Chinese PBXes and trunks send caller names in GB18030
(GBK), so that is tried next, and anything else has its bad bytes replaced; either way the
message arrives and a warning says so. Only a frame we cannot make sense of (a line without
``:``, an unknown first header, too big) is logged, counted and skipped; the frames around it
still arrive.
Well-formed frames are checked in bulk and come out as ``FramedMessage``: an ``AmiMessage`` that
splits its lines only when a field is first read (``name`` and ``kind`` never need that).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from itertools import repeat

from acd.ami.message import AmiMessage

log = logging.getLogger(__name__)

TERMINATOR = b"\r\n\r\n"
BANNER_PREFIX = b"Asterisk Call Manager/"
DEFAULT_MAX_FRAME = 256 * 1024
DEFAULT_MAX_BUFFER = 1024 * 1024
MESSAGE_KINDS = ("Event", "Response")
_KIND_STARTS = ("Event:", "Response:")

# One ``Key: value`` line, run on text whose CRLFs became LFs: only once the text is known to
# hold no lone CR or LF, so a key or value never runs across a line and a line gives at most one
# match. Possessive quantifiers and LF-only lines make it about twice as fast as the obvious form.
_LINE = re.compile(r"([^:\n]*+): ?+(.*+)")

# Every byte but ':', CR and LF: deleting them leaves the skeleton used to check line shapes.
_NOT_SKELETON = bytes(c for c in range(256) if c not in b":\r\n")


def _excerpt(raw: bytes | str, limit: int = 80) -> str:
    text = raw if isinstance(raw, str) else raw.decode("utf-8", "backslashreplace")
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


def decode_frame(raw: bytes) -> str:
    """The text of one frame: UTF-8, else GB18030, else UTF-8 with bad bytes replaced.

    Only for frames whose UTF-8 decoding failed; the bulk path decodes whole reads as UTF-8.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        reason = exc.reason
    try:
        text = raw.decode("gb18030")
        used = "GB18030"
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "replace")
        used = "UTF-8 with replacement characters"
    log.warning("AMI: a message is not UTF-8 (%s), read as %s: %s", reason, used, _excerpt(raw))
    return text


def _fields_exact(frame: str) -> list[tuple[str, str]] | None:
    """The slow, literal reading: lines on CRLF, key up to the first ``:``, drop one space."""
    fields: list[tuple[str, str]] = []
    for line in frame.split("\r\n"):
        key, colon, value = line.partition(":")
        if not colon:
            return None
        if value[:1] == " ":
            value = value[1:]
        fields.append((key, value))
    return fields


def _fields(frame: str) -> list[tuple[str, str]] | None:
    """Fields of one decoded frame, or None if a line has no ``:``."""
    crlf = frame.count("\r\n")
    # A lone CR or LF inside a value (legal under "split on CRLF") defeats the regex: fall back.
    if frame.count("\r") == crlf and frame.count("\n") == crlf:
        fields = _LINE.findall(frame.replace("\r\n", "\n"))
        if len(fields) == crlf + 1:
            return fields
    return _fields_exact(frame)


def _to_message(frame: str, strict_kind: bool) -> tuple[AmiMessage | None, str]:
    """The message of one frame, or (None, why it is malformed)."""
    if frame.startswith("\r\n"):
        # Tolerate stray blank lines between messages; they carry nothing.
        frame = frame.lstrip("\r\n")
    fields = _fields(frame)
    if fields is None:
        return None, "line without ':'"
    if strict_kind and fields[0][0] not in MESSAGE_KINDS:
        return None, "first header is neither Event nor Response"
    return AmiMessage(fields), ""


class FramedMessage(AmiMessage):
    """An AmiMessage read off the wire whose lines are split on first use.

    The framer has already checked the frame (UTF-8, every line has a ``:``, known first
    header), so parsing cannot fail later. Many events are dropped after one look at ``name``
    (about 44 % are VarSet), and those are never split into fields at all.
    """

    __slots__ = ("_edited", "_name", "_parsed", "text")

    def __init__(self, text: str) -> None:
        self.text = text  # the frame as received, CRLF line ends, without its blank line
        self._parsed: list[tuple[str, str]] | None = None
        self._edited = False  # fields assigned by hand: the text no longer describes them
        self._index = None
        # ``name`` once read: the feed asks it of every event for the tracker, the agent board
        # and the duplicate window, and reading it off the text each time cost as much as the
        # agent board's own work (issue 6's ingest benchmark).
        self._name: str | None = None

    @property
    def fields(self) -> list[tuple[str, str]]:
        parsed = self._parsed
        if parsed is None:
            parsed = self._parsed = _fields(self.text) or []
        return parsed

    @fields.setter
    def fields(self, value: list[tuple[str, str]]) -> None:
        self._parsed = value
        self._edited = True
        self._index = None
        self._name = None

    @property
    def frame_text(self) -> str | None:
        return None if self._edited else self.text

    @property
    def kind(self) -> str:
        parsed = self._parsed
        if parsed is None:
            if self.text.startswith("Event:"):
                return "event"
            if self.text.startswith("Response:"):
                return "response"
            return super().kind
        # Split already: its first header, without going through ``fields`` twice.
        first = parsed[0][0] if parsed else ""
        return "event" if first == "Event" else "response" if first == "Response" else "unknown"

    @property
    def name(self) -> str:
        name = self._name
        if name is not None:
            return name
        parsed = self._parsed
        if parsed is not None:
            name = parsed[0][1] if parsed else ""
        else:
            text = self.text
            end = text.find("\r\n")
            if text.startswith("Event: "):  # nearly every frame: the value after one space
                name = text[7:end] if end >= 0 else text[7:]
            else:
                value = (text if end < 0 else text[:end]).partition(":")[2]
                name = value[1:] if value[:1] == " " else value
        self._name = name
        return name

    def get(self, key: str, default: str | None = None) -> str | None:
        if self._parsed is not None:
            return super().get(key, default)
        # One header of an unsplit frame, read straight off the text: the tracker asks only
        # for ``Variable`` of the VarSet flood and drops most of them right after.
        text = self.text
        if text.startswith(key + ":"):
            start = len(key) + 1
        else:
            at = text.find("\r\n" + key + ":")
            if at < 0:
                return default
            start = at + len(key) + 3
        end = text.find("\r\n", start)
        value = text[start:] if end < 0 else text[start:end]
        return value[1:] if value[:1] == " " else value

    def __eq__(self, other: object) -> bool:
        # Same bytes, same message: no need to split either of them.
        if (
            type(other) is FramedMessage
            and not (other._edited or self._edited)
            and other.text == self.text
        ):
            return True
        return super().__eq__(other)

    __hash__ = AmiMessage.__hash__


def parse_frame(raw: bytes, *, strict_kind: bool = True) -> AmiMessage | None:
    """One frame (without its blank-line terminator) as a message; None if malformed."""
    text = decode_frame(raw)
    if not text.strip("\r\n"):
        return None
    message, _ = _to_message(text, strict_kind)
    return message


class AmiFramer:
    """Incremental AMI reader: feed it whatever ``recv`` returned, get whole messages back.

    ``strict_kind=False`` accepts any first header (the server side reads ``Action:`` frames).
    ``expect_banner=False`` for streams that do not start with the greeting line.
    """

    __slots__ = (
        "_buf",
        "_discarding",
        "_want_banner",
        "banner",
        "max_buffer",
        "max_frame",
        "messages",
        "skipped",
        "strict_kind",
    )

    def __init__(
        self,
        *,
        expect_banner: bool = True,
        strict_kind: bool = True,
        max_frame: int = DEFAULT_MAX_FRAME,
        max_buffer: int = DEFAULT_MAX_BUFFER,
    ) -> None:
        self._buf = bytearray()
        self._discarding = False
        self._want_banner = expect_banner
        self.banner: str | None = None
        self.strict_kind = strict_kind
        self.max_frame = max_frame
        self.max_buffer = max_buffer
        self.messages = 0
        self.skipped = 0

    @property
    def version(self) -> str | None:
        """The AMI protocol version from the banner (``11.0.0``), not Asterisk's own version."""
        if self.banner is None:
            return None
        return self.banner.partition("/")[2].strip() or None

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the end of a message."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[AmiMessage]:
        buf = self._buf
        if buf:
            buf += data
            data = bytes(buf)
            buf.clear()
        if self._want_banner:
            data = self._take_banner(data)
            if self._want_banner:
                return []
        if self._discarding:
            data = self._skip_oversized_tail(data)
            if self._discarding:
                return []
        end = data.rfind(TERMINATOR)
        if end < 0:
            self._hold(data)
            return []
        start = end + 4
        # Stray blank lines: the last message ends at the *first* blank line of a run, and the
        # blank lines after it carry nothing (without this, "A\r\n\r\n\r\n" would cut "A\r\n").
        while end >= 2 and data.startswith(b"\r\n", end - 2):
            end -= 2
        while data.startswith(b"\r\n", start):
            start += 2
        if start < len(data):
            self._hold(data[start:])
        return self._frames(data[:end]) if end > 0 else []

    def _hold(self, rest: bytes) -> None:
        if len(rest) > self.max_buffer:
            self.skipped += 1
            self._discarding = True
            log.warning(
                "AMI: %d bytes without an end of message, dropped until the next blank line: %s",
                len(rest),
                _excerpt(rest),
            )
            # Keep the last bytes: the terminator may straddle this read and the next one.
            self._buf += rest[-3:]
            return
        self._buf += rest

    def _skip_oversized_tail(self, data: bytes) -> bytes:
        end = data.find(TERMINATOR)
        if end < 0:
            self._buf += data[-3:]
            return b""
        self._discarding = False
        return data[end + 4 :]

    def _take_banner(self, data: bytes) -> bytes:
        if data.startswith(BANNER_PREFIX):
            eol = data.find(b"\r\n")
            if eol < 0:
                if len(data) > 1024:
                    self._want_banner = False
                    return self._bad_banner(data)
                self._buf += data
                return b""
            self._want_banner = False
            self.banner = data[:eol].decode("utf-8", "replace")
            return data[eol + 2 :]
        if BANNER_PREFIX.startswith(data):
            self._buf += data  # only the start of the banner so far
            return b""
        self._want_banner = False  # a stream without a greeting (replays, mid-stream taps)
        return data

    def _bad_banner(self, data: bytes) -> bytes:
        self.skipped += 1
        log.warning("AMI: greeting line too long, treated as data: %s", _excerpt(data))
        return data

    def _frames(self, block: bytes) -> list[AmiMessage]:
        frames: list[str] | None = None
        if self.strict_kind:  # the server side reads low-volume actions: always checked
            frames = self._well_formed(block)
        if frames is not None:
            self.messages += len(frames)
            return list(map(FramedMessage, frames))
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            return self._frames_one_by_one(block)
        out: list[AmiMessage] = []
        for frame in text.split("\r\n\r\n"):
            message = self._checked(frame)
            if message is not None:
                out.append(message)
        self.messages += len(out)
        return out

    def _well_formed(self, block: bytes) -> list[str] | None:
        """The block's frames if all are certainly well formed, else None (check one by one).

        Done in C over the whole block, without splitting a single line: in the skeleton of
        the block (only its ':', CR and LF), a line has a ':' iff its CRLF follows a ':'. The
        only CRLFs that may follow no ':' are the blank lines between messages. A lone CR or LF
        can only make this stricter, never let a bad line through.
        """
        skeleton = block.translate(None, _NOT_SKELETON)
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            return None
        frames = text.split("\r\n\r\n")
        if (
            skeleton.endswith(b":")
            and skeleton.count(b"\r\n") - skeleton.count(b":\r\n") == len(frames) - 1
            and all(map(str.startswith, frames, repeat(_KIND_STARTS)))
            and (len(block) <= self.max_frame or max(map(len, frames)) <= self.max_frame)
        ):
            return frames
        return None

    def _checked(self, frame: str) -> AmiMessage | None:
        if not frame.strip("\r\n"):
            return None
        if len(frame) > self.max_frame:
            self.skipped += 1
            log.warning(
                "AMI: skipped a %d-character message (too big): %s", len(frame), _excerpt(frame)
            )
            return None
        message, why = _to_message(frame, self.strict_kind)
        if message is None:
            self.skipped += 1
            log.warning("AMI: skipped a malformed message (%s): %s", why, _excerpt(frame))
        return message

    def _frames_one_by_one(self, block: bytes) -> list[AmiMessage]:
        out: list[AmiMessage] = []
        for raw in block.split(TERMINATOR):
            message = self._checked(decode_frame(raw))
            if message is not None:
                out.append(message)
        self.messages += len(out)
        return out


def iter_messages(data: bytes, *, strict_kind: bool = True) -> Iterator[AmiMessage]:
    """Every message of a complete stream (banner optional), e.g. a capture's ami.raw."""
    framer = AmiFramer(strict_kind=strict_kind)
    yield from framer.feed(data)
    if framer.pending:
        # A final message without its blank line still counts, as on a closed socket.
        yield from framer.feed(TERMINATOR)
