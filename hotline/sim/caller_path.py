"""The caller's path: 12345 rings, the IVR (built in, or a FastAGI server), then Queue().

The built-in IVR plays the captures' AGI (ANSWER, STREAM FILE, GET DATA, SET VARIABLE); with an
``ivr_driver`` a real FastAGI server runs it and reports through ``agi_command``/``agi_done``.
"""

from __future__ import annotations

from typing import Protocol

from asterisk_conf.agi_args import agi_words, assignments

from .channels import RING, UP
from .conversation import Conversation
from .emitter import AGI, CALL, DTMF
from .model import CallerScript, CallTruth, menu_choice
from .pbx_state import Call
from .queue_waiting import QueueWaiting

# Measured in the captures (Local-channel callers).
AGI_ANSWER_S = 0.5
SIP_AGI_ANSWER_S = 0.005
PROMPT_S = 1.42
GET_DATA_TIMEOUT_S = 5.44
DTMF_LENGTH_S = 0.1
AGI_CLOSE_AFTER_HANGUP_S = 1.04
DEFAULT_QUEUE = "hotline-general"  # the dialplan's degraded path


class IvrDriver(Protocol):
    """Runs a call's IVR outside the PBX (a real FastAGI server, see ``agi_driver``)."""

    def start(self, pbx: CallerPath, call: Call) -> None: ...

    def survey(self, pbx: CallerPath, call: Call) -> None: ...


class CallerPath(QueueWaiting, Conversation):
    ivr_driver: IvrDriver | None

    # ---- a call arrives ------------------------------------------------------------------

    def place_call(self, script: CallerScript) -> CallTruth:
        """An inbound call to 12345 now (the capture script's Originate, default mode)."""
        if self.config.sip:
            ch2, ch1 = self._sip_channel("pstn-trunk", "hotline-ivr", "12345", None, RING)
            ch2.set_callerid(script.caller_num, script.caller_name)
        else:
            ch1, ch2 = self._local_pair("12345", "hotline-ivr", None)
        truth = CallTruth(
            ch1.linkedid, ch2.uniqueid, script.caller_num, script.caller_name, started_at=self.now
        )
        call = Call(script, ch1, ch2, truth, legs=[truth])
        self.truths.append(truth)
        self.counters.calls += 1
        self.ch_event("Newchannel", CALL, ch1)
        self.ch_event("Newchannel", CALL, ch2)
        self.newexten(ch1, 1, "AppDial2", "(Outgoing Line)")
        ch1.set_callerid(script.caller_num, script.caller_name)
        self.ch_event(
            "NewCallerid",
            CALL,
            ch1,
            [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")],
        )
        self.ch_event("NewConnectedLine", CALL, ch1)
        if not self.config.sip:
            ch2.set_callerid(script.caller_num, script.caller_name)
            self.ch_event(
                "NewCallerid",
                CALL,
                ch2,
                [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")],
            )
            self.ch_event("NewConnectedLine", CALL, ch2)
        self.local_bridge(ch1, ch2)
        self.dial_event("DialBegin", None, ch1, [("DialString", "12345@hotline-ivr/n")])
        self.newexten(
            ch2, 1, "NoOp", f'Hotline call from "{script.caller_name}" <{script.caller_num}>'
        )
        self.newexten(ch2, 2, "AGI", self.config.agi_url)
        if self.ivr_driver is not None:
            # A real FastAGI server runs the IVR; it reports back through agi_command/agi_done.
            call.phase = "agi"
            self.ivr_driver.start(self, call)
        else:
            self.agi_start(call, "ANSWER")
            self._answer_caller(call)
            # Asterisk waits for a first media frame on Local channels only (README #15).
            answer_s = SIP_AGI_ANSWER_S if self.config.sip else AGI_ANSWER_S
            self._after(call.timers, answer_s, self._agi_answered, call)
            if script.ivr_hangup_after is not None:
                self._after(call.timers, script.ivr_hangup_after, self._ivr_hangup, call)
        if script.hangup_after is not None:
            # Not in call.timers: it must survive the IVR's and the queue's own timers.
            call.hangup_timer = self.scheduler.after(script.hangup_after, self._caller_gone, call)
        return truth

    def _answer_caller(self, call: Call) -> None:
        ch1, ch2 = call.ch1, call.ch2
        self.newstate(ch2, UP)
        self.newstate(ch1, UP)
        self.dial_event("DialEnd", None, ch1, [("DialStatus", "ANSWER")])
        ch1.context, ch1.exten, ch1.priority = "caller-robot", "s", 5
        ch1.app, ch1.appdata = "Wait", ""
        self.caller_device("INUSE")
        self.caller_device("INUSE")

    def _caller_gone(self, call: Call) -> None:
        """The caller's phone hangs up now, in whatever state the call is."""
        call.hangup_timer = None
        if call.phase in ("answer", "stream", "getdata"):
            self._ivr_hangup(call)
        elif call.phase == "queue" and call.entry is not None:
            self._abandon(call.entry)
        elif call.phase == "talk":
            self._caller_hangs_up(call)

    # ---- the built-in IVR ----------------------------------------------------------------

    def _agi_answered(self, call: Call) -> None:
        self.agi_end(call, "ANSWER")
        call.phase = "stream"
        self.agi_start(call, 'STREAM FILE hello-world ""')
        self._after(call.timers, PROMPT_S, self._prompt_done, call)

    def agi_start(self, call: Call, command: str) -> None:
        call.command_id = str(self.rng.randrange(1, 2**31))
        self.ch_event(
            "AGIExecStart",
            AGI,
            call.ch2,
            [
                ("CommandId", call.command_id),
                ("Command", command),
            ],
        )

    def agi_end(self, call: Call, command: str, code: str = "200", result: str = "Success") -> None:
        self.ch_event(
            "AGIExecEnd",
            AGI,
            call.ch2,
            [
                ("CommandId", call.command_id),
                ("Command", command),
                ("ResultCode", code),
                ("Result", result),
            ],
        )

    def _prompt_done(self, call: Call) -> None:
        self.varset(call.ch2, "PLAYBACKSTATUS", "SUCCESS")
        self.agi_end(call, 'STREAM FILE hello-world ""')
        call.phase = "getdata"
        self.agi_start(call, "GET DATA beep 5000 1")
        script = call.script
        if script.dtmf is not None and script.dtmf_delay < GET_DATA_TIMEOUT_S:
            self._after(call.timers, script.dtmf_delay, self._dtmf_begin, call)
        else:
            self._after(call.timers, GET_DATA_TIMEOUT_S, self._got_data, call, None)

    def _dtmf_begin(self, call: Call) -> None:
        digit = call.script.dtmf or ""
        self.ch_event("DTMFBegin", DTMF, call.ch2, [("Digit", digit), ("Direction", "Received")])
        self._after(call.timers, DTMF_LENGTH_S, self._dtmf_end, call)

    def _dtmf_end(self, call: Call) -> None:
        digit = call.script.dtmf or ""
        self.ch_event(
            "DTMFEnd",
            DTMF,
            call.ch2,
            [
                ("Digit", digit),
                ("DurationMs", str(int(DTMF_LENGTH_S * 1000))),
                ("Direction", "Received"),
            ],
        )
        self._got_data(call, digit)

    def _got_data(self, call: Call, digit: str | None) -> None:
        ch2 = call.ch2
        self.agi_end(call, "GET DATA beep 5000 1")
        self._cancel(call.timers)
        queue, choice, prio = menu_choice(digit)
        call.truth.ivr_digits = digit
        for var, value in (
            ("HOTLINE_QUEUE", queue),
            ("HOTLINE_CHOICE", choice),
            ("HOTLINE_PRIORITY", str(prio)),
        ):
            command = f"SET VARIABLE {var} {value}"
            self.agi_start(call, command)
            self.varset(ch2, var, value)
            self.agi_end(call, command)
        self._after_ivr(call, "SUCCESS", queue, choice, prio)

    def _ivr_hangup(self, call: Call) -> None:
        """The caller hangs up while the FastAGI IVR still holds the channel."""
        if call.phase not in ("answer", "stream", "getdata"):
            return
        self._cancel(call.timers)
        ch1, ch2 = call.ch1, call.ch2
        self.cdr(ch1, "Hangup", "", destination="s")
        self.ch_event("SoftHangupRequest", CALL, ch1, [("Cause", "16")])
        self.ch_event("HangupRequest", CALL, ch2, [("Cause", "16")])
        self.hangup(ch1)
        command = {
            "answer": "ANSWER",
            "stream": 'STREAM FILE hello-world ""',
            "getdata": "GET DATA beep 5000 1",
        }[call.phase]
        if call.phase == "getdata":
            self.agi_end(call, command)
        else:
            self.agi_end(call, command, "-1", "Failure")
        self.caller_device("NOT_INUSE")
        call.phase = "ivr_gone"
        truth = call.truth
        truth.outcome, truth.hangup_by = "ivr_hangup", "caller"
        # The channel only goes once the FastAGI server has closed its socket.
        self._after(call.timers, AGI_CLOSE_AFTER_HANGUP_S, self._ivr_hangup_done, call)

    def _ivr_hangup_done(self, call: Call) -> None:
        ch2 = call.ch2
        self.cdr(ch2, "AGI", self.config.agi_url)
        self.varset(ch2, "AGISTATUS", "HANGUP")
        self.ch_event("SoftHangupRequest", CALL, ch2, [("Cause", "16")])
        self.hangup(ch2)
        self.caller_device("NOT_INUSE")
        self._finish(call)

    # ---- an external FastAGI IVR (see agi_driver) ----------------------------------------

    def agi_command(self, call: Call, command: str, reply: str | None) -> None:
        """A command of the external IVR (or survey) starts (reply None) or ends."""
        if call.phase not in ("agi", "survey"):
            return
        ch2 = call.ch2
        if reply is None:
            self.agi_start(call, command)
            if command.upper().startswith("ANSWER") and ch2.answered is None:
                self._answer_caller(call)
            return
        upper = command.upper()
        code = reply[:3]
        if (
            reply.startswith("200 result=-1")
            and not upper.startswith("HANGUP")
            and call.phase == "agi"
        ):
            self._ivr_caller_hung_up(call, command)
            return
        if upper.startswith("GET DATA") and "result=" in reply:
            digits = reply.split("result=", 1)[1].split(" ", 1)[0]
            for digit in digits:
                self.ch_event("DTMFBegin", DTMF, ch2, [("Digit", digit), ("Direction", "Received")])
                self.ch_event(
                    "DTMFEnd",
                    DTMF,
                    ch2,
                    [
                        ("Digit", digit),
                        ("DurationMs", str(int(DTMF_LENGTH_S * 1000))),
                        ("Direction", "Received"),
                    ],
                )
            if digits and call.truth.ivr_digits is None:
                call.truth.ivr_digits = digits
        elif upper.startswith("HANGUP"):
            call.ivr_hung_up = True
        elif upper.startswith("STREAM FILE"):
            self.varset(ch2, "PLAYBACKSTATUS", "SUCCESS")
        elif upper.startswith("EXEC MIXMONITOR"):
            # The IVR records a call itself (a blocklisted caller's evidence): as Asterisk's
            # MixMonitor, the file's full path in MIXMONITOR_FILENAME, then MixMonitorStart.
            name = command.split(" ", 2)[2].strip().strip('"').split(",", 1)[0]
            path = f"{self.config.recordings_dir}/{name}"
            self.varset(ch2, "MIXMONITOR_FILENAME", path)
            self.ch_event("MixMonitorStart", CALL, ch2)
            call.truth.recording = path
        elif upper.startswith("SET VARIABLE"):
            words = agi_words(command)
            if len(words) >= 3:
                # one variable, or several of an ARRAY(…), each with its own VarSet
                for name, value in assignments(words[2], words[3] if len(words) > 3 else ""):
                    call.ivr_vars[name] = value
                    self.varset(ch2, name, value)
        self.agi_end(call, command, code, "Success" if code == "200" else "Failure")

    def _ivr_caller_hung_up(self, call: Call, command: str | None) -> None:
        """The caller hung up during the IVR: during ``command``, or between two commands
        (None: the server was still working on its next one)."""
        ch1, ch2 = call.ch1, call.ch2
        self.cdr(ch1, "Hangup", "", destination="s")
        if call.ivr_hung_up:
            # AGI HANGUP: the hotline side asks first, the caller's half follows
            self.ch_event("SoftHangupRequest", CALL, ch2, [("Cause", "16")])
            self.ch_event("HangupRequest", CALL, ch1, [("Cause", "16")])
        else:
            self.ch_event("SoftHangupRequest", CALL, ch1, [("Cause", "16")])
            self.ch_event("HangupRequest", CALL, ch2, [("Cause", "16")])
        self.hangup(ch1)
        if command is None:
            pass
        elif command.upper().startswith("GET DATA"):
            self.agi_end(call, command)
        else:
            self.agi_end(call, command, "-1", "Failure")
        self.caller_device("NOT_INUSE")
        call.phase = "ivr_gone"
        call.truth.outcome = "ivr_hangup"
        call.truth.hangup_by = "ivr" if call.ivr_hung_up else "caller"

    def agi_done(self, call: Call, status: str) -> None:
        """The external IVR closed its socket (or could not be reached: status FAILURE)."""
        if call.phase == "agi" and status == "HANGUP":
            # The caller hung up while the server worked on its next command (no command
            # failed): as on the real PBX, AGI() returns HANGUP and the dialplan ends there.
            self._ivr_caller_hung_up(call, None)
        if call.phase == "ivr_gone":
            self._ivr_hangup_done(call)
            return
        if call.phase == "survey":
            self.varset(call.ch2, "AGISTATUS", status)
            self.ch_event("SoftHangupRequest", CALL, call.ch2, [("Cause", "16")])
            self.hangup(call.ch2)
            self._local_half_gone(call)
            return
        if call.phase != "agi":
            return
        if call.ch2.answered is None:
            # The IVR never answered (server down): the call goes on unanswered until the
            # queue; the events a tracker needs come all the same.
            self._answer_caller(call)
        queue = call.ivr_vars.get("HOTLINE_QUEUE", "")
        choice = call.ivr_vars.get("HOTLINE_CHOICE", "")
        try:
            prio = int(call.ivr_vars.get("HOTLINE_PRIORITY", "") or 0)
        except ValueError:
            prio = 0
        self._after_ivr(call, status, queue, choice, prio)

    # ---- after AGI() ---------------------------------------------------------------------

    def _after_ivr(self, call: Call, status: str, queue: str, choice: str, prio: int) -> None:
        """The dialplan after AGI(): degraded default queue, MixMonitor, Queue()."""
        ch2 = call.ch2
        call.phase = "dialplan"
        self.varset(ch2, "AGISTATUS", status)
        self.newexten(
            ch2, 3, "NoOp", f"AGISTATUS={status} queue={queue} choice={choice} prio={prio}"
        )
        empty = queue == ""
        self.newexten(ch2, 4, "ExecIf", f"{int(empty)}?Set(HOTLINE_QUEUE={DEFAULT_QUEUE})")
        if empty:
            queue = DEFAULT_QUEUE
            self.varset(ch2, "HOTLINE_QUEUE", queue)
        record = self.config.record_calls
        self.newexten(ch2, 5, "GotoIf", "0?queue" if record else "1?queue")
        if record:
            self.newexten(ch2, 6, "MixMonitor", f"hotline-{ch2.uniqueid}.wav,b")
            path = f"{self.config.recordings_dir}/hotline-{ch2.uniqueid}.wav"
            self.varset(ch2, "MIXMONITOR_FILENAME", path)
            self.ch_event("MixMonitorStart", CALL, ch2)
            call.truth.recording = path
        self.newexten(ch2, 7, "Set", f"QUEUE_PRIO={prio}")
        self.varset(ch2, "QUEUE_PRIO", str(prio))
        call.queue_name, call.prio = queue, prio
        self._queue(call)
