"""pyst2's AGI class, fixed at our edge for what a real Asterisk 22 sends.

pyst2 0.5.1 (the last release) runs on Python 3.11 but misreads three things Asterisk does
when the caller hangs up, each of which ends the script with a traceback instead of letting
it finish routing the call, and it refuses every command after SIGHUP, even those Asterisk
allows on a dead channel (SET VARIABLE):

* the asynchronous ``HANGUP`` line Asterisk writes to the script's stdin (seen in the
  captures: ``200 result=-1`` then ``HANGUP``) is parsed as a result and fails ``int('')``;
* ``511 Command Not Permitted on a dead channel`` becomes a generic AGIUnknownError;
* end of input (Asterisk closed the pipe) fails ``int('')`` as well.

And it writes values as they are: ``"`` is not escaped and a line break in a value (a queue
name from the dialplan, a sound) would reach Asterisk as a command of its own. Here every
command goes through the IVR's own rule (``asterisk_conf.agi_args``): quotes escaped, CR/LF/NUL
refused with :class:`AGIUnsafeCommand` before anything is written.

Here all three become :class:`asterisk.agi.AGIHangup` subclasses, the ``HANGUP`` line is
remembered and skipped, and stdin/stdout are UTF-8 whatever the locale Asterisk starts the
script with (caller names are raw UTF-8).
"""

from __future__ import annotations

import io
import sys
from typing import IO, Any

from asterisk.agi import (
    AGI,
    AGIAppError,
    AGIError,
    AGIHangup,
    AGIInvalidCommand,
    AGIResultHangup,
    AGISIGPIPEHangup,
    AGIUnknownError,
    AGIUsageError,
    re_kv,
)

from asterisk_conf.agi_args import UnsafeAgiText, escape_arg, refuse_unsafe

HANGUP_LINE = "HANGUP"
DEAD_CHANNEL = 511


class AGIDeadChannel(AGIHangup):
    """Asterisk refused a command because the channel is gone (511)."""


class AGIUnsafeCommand(AGIError):
    """A command was not sent: a value in it held CR, LF or NUL (see module doc)."""


class HotlineAGI(AGI):
    """pyst2's AGI with the hang-up handling real Asterisk needs (see module doc)."""

    def __init__(
        self,
        stdin: IO[str] | None = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> None:
        self.hung_up = False
        super().__init__(
            stdin=stdin or io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace"),
            stdout=stdout or io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8"),
            # pyst2 echoes every line it reads and writes to stderr, which Asterisk logs;
            # our own logging goes to the real stderr.
            stderr=stderr or _Discard(),
        )

    @property
    def gone(self) -> bool:
        """Asterisk said the caller hung up (SIGHUP, a HANGUP line or a 511 reply)."""
        return self.hung_up or self._got_sighup

    def test_hangup(self) -> None:
        # pyst2 raises on SIGHUP before every command; but SET VARIABLE still works on a dead
        # channel and Asterisk answers 511 to what does not, so just remember it.
        if self._got_sighup:
            self.hung_up = True

    def _quote(self, string: Any) -> str:
        try:
            return f'"{escape_arg(str(string))}"'
        except UnsafeAgiText as error:
            raise AGIUnsafeCommand(str(error)) from None

    def send_command(self, command: str, *args: Any) -> None:
        text = " ".join([command.strip(), *map(str, args)]).strip()
        try:
            refuse_unsafe(text)
        except UnsafeAgiText as error:
            raise AGIUnsafeCommand(str(error)) from None
        super().send_command(text)

    def _read_reply_line(self) -> str:
        while True:
            raw = self.stdin.readline()
            if raw == "":
                raise AGISIGPIPEHangup("Asterisk closed the AGI input")
            line = raw.strip()
            if line == HANGUP_LINE:
                self.hung_up = True
                continue
            return line

    def get_result(self, stdin: Any = None) -> dict[str, tuple[str, str]]:
        # pyst2's parser, minus the crashes: same results and exceptions for a live channel.
        line = self._read_reply_line()
        code_text, _, response = line.partition(" ")
        if code_text.startswith("520"):
            usage = [line]
            while not line.startswith("520 "):
                line = self._read_reply_line()
                usage.append(line)
            raise AGIUsageError("\n".join(usage) + "\n")
        if not code_text.isdigit():
            raise AGIUnknownError(f"unexpected line from Asterisk: {line!r}")
        code = int(code_text)
        if code == DEAD_CHANNEL:
            self.hung_up = True
            raise AGIDeadChannel(line)
        if code == 510:
            raise AGIInvalidCommand(response)
        if code != 200:
            raise AGIUnknownError(code, "Unhandled code or undefined response")
        result: dict[str, tuple[str, str]] = {"result": ("", "")}
        for key, value, data in re_kv.findall(response):
            result[key] = (value, data)
            if data == "hangup":
                raise AGIResultHangup("User hungup during execution")
            if key == "result" and value == "-1":
                raise AGIAppError("Error executing application, or hangup")
        return result


class _Discard(io.StringIO):
    def write(self, text: str) -> int:
        return len(text)
